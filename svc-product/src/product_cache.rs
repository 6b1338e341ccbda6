//! A short-lived cache of GetProduct's answers, stock figure included.
//!
//! A product page is read far more often than a product changes, and its stock figure is
//! advisory: what decides whether a unit can be sold is the reservation svc-inventory makes
//! when the order is placed, never this number. So an answer may be reused for `ttl`:
//! this replica's own writes drop the entry at once, another replica's show within `ttl`.
//! Pricing for orders goes through BatchGetProducts, which never reads this cache.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use mart_proto::product::Product;

/// Entries beyond this many are not added until expired ones are swept out.
const CAPACITY: usize = 50_000;

/// Recent GetProduct answers by product id.
#[derive(Debug)]
pub struct ProductCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Product)>>,
}

impl ProductCache {
    /// A cache keeping answers for `ttl`; a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::default() }
    }

    /// The answer for `id`, if one younger than the ttl is kept.
    pub fn get(&self, id: &str) -> Option<Product> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.lock();
        entries.get(id).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, product)| product.clone())
    }

    /// Keeps `product` as the answer for its id.
    pub fn put(&self, product: &Product) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= CAPACITY {
                return;
            }
        }
        entries.insert(product.id.clone(), (Instant::now(), product.clone()));
    }

    /// Drops the answer for `id` (after this replica changed the product).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Product)>> {
        // The map holds plain values; a panic elsewhere while holding the lock cannot leave
        // it half-changed in a way that matters for a cache.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str, name: &str) -> Product {
        Product { id: id.into(), name: name.into(), ..Default::default() }
    }

    #[test]
    fn answers_are_reused_until_they_expire_or_are_forgotten() {
        let cache = ProductCache::new(Duration::from_millis(50));
        cache.put(&product("p1", "Tea"));
        assert_eq!(cache.get("p1").map(|p| p.name), Some("Tea".to_owned()));
        cache.forget("p1");
        assert_eq!(cache.get("p1"), None);
        cache.put(&product("p1", "Tea"));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("p1"), None);
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = ProductCache::new(Duration::ZERO);
        cache.put(&product("p1", "Tea"));
        assert_eq!(cache.get("p1"), None);
    }
}

//! A short-lived cache of GetProduct's answers, stock figure included.
//!
//! A product page is read far more often than a product changes, and its stock figure is
//! advisory: what decides whether a unit can be sold is the reservation svc-inventory makes
//! when the order is placed, never this number. So an answer may be reused for `ttl`:
//! this replica's own writes drop the entry at once, another replica's show within `ttl`.
//! Pricing for orders goes through BatchGetProducts, which never reads this cache.
//!
//! The facet counts of ListProducts' first page are kept the same way, by query: a
//! storefront asks for them with every first page, and counting them is several aggregate
//! queries over the whole catalog. Any write of this replica drops them all.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use mart_proto::product::{Facets, Product};

/// Entries beyond this many are not added until expired ones are swept out.
const CAPACITY: usize = 50_000;
/// Queries whose facet counts are kept, at most.
const FACET_CAPACITY: usize = 1_000;

/// Recent GetProduct answers by product id, and recent facet counts by query.
#[derive(Debug)]
pub struct ProductCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Product)>>,
    facets: Mutex<HashMap<String, (Instant, Facets)>>,
}

impl ProductCache {
    /// A cache keeping answers for `ttl`; a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::default(), facets: Mutex::default() }
    }

    /// The facet counts of the query `key` (its filter, serialised), if young enough.
    pub fn facets(&self, key: &str) -> Option<Facets> {
        if self.ttl.is_zero() {
            return None;
        }
        let facets = relock(&self.facets);
        facets.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, facets)| facets.clone())
    }

    /// Keeps `facets` as the counts of the query `key`.
    pub fn put_facets(&self, key: String, facets: &Facets) {
        if self.ttl.is_zero() {
            return;
        }
        let mut kept = relock(&self.facets);
        if kept.len() >= FACET_CAPACITY {
            let ttl = self.ttl;
            kept.retain(|_, (at, _)| at.elapsed() < ttl);
            if kept.len() >= FACET_CAPACITY {
                return;
            }
        }
        kept.insert(key, (Instant::now(), facets.clone()));
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

    /// Drops the answer for `id` (after this replica changed the product), and every
    /// facet count (the change may move any of them).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
        relock(&self.facets).clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Product)>> {
        relock(&self.entries)
    }
}

fn relock<T>(map: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps hold plain values; a panic elsewhere while holding the lock cannot leave
    // them half-changed in a way that matters for a cache.
    map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
    fn facet_counts_are_kept_per_query_until_a_write() {
        let cache = ProductCache::new(Duration::from_secs(60));
        let counts = Facets { brands: vec![Default::default()], ..Default::default() };
        cache.put_facets("{\"q\":[]}".into(), &counts);
        assert_eq!(cache.facets("{\"q\":[]}"), Some(counts));
        assert_eq!(cache.facets("{\"q\":[\"tea\"]}"), None, "another query");
        cache.forget("any-product");
        assert_eq!(cache.facets("{\"q\":[]}"), None, "a write moves the counts");
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = ProductCache::new(Duration::ZERO);
        cache.put(&product("p1", "Tea"));
        assert_eq!(cache.get("p1"), None);
    }
}

//! The public keys access tokens are checked against, by `kid`.
//!
//! A [`KeySet`] holds what svc-user publishes ([`Published`]): the keys, and the sessions
//! ended early. It refreshes on a schedule ([`KeySet::refresh_every`]), trusting exactly
//! what is published, so a retired key and a revoked session stop working within one
//! interval everywhere; and it asks again when a token names a `kid` it has not seen (a key
//! rotated in elsewhere), at most once per [`REFETCH_INTERVAL`] so a stream of made-up kids
//! cannot hammer the source. svc-user's source is its own database; every other service's
//! is svc-user's `GetJwks` ([`KeySet::remote`]).

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ed25519_dalek::VerifyingKey;
use futures::future::BoxFuture;
use mart_proto::user::{GetJwksRequest, Jwk, user_service_client::UserServiceClient};
use tokio::sync::{Mutex, RwLock};

/// How often an unknown `kid` may trigger a fetch from the source.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(5);

/// A verifying key and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The `kid` tokens name it by.
    pub kid: String,
    /// The Ed25519 public key.
    pub key: VerifyingKey,
}

impl PublicKey {
    /// As a JWK (`kty: OKP`, `crv: Ed25519`, RFC 8037).
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: B64.encode(self.key.as_bytes()),
            kid: self.kid.clone(),
            alg: "EdDSA".to_owned(),
            r#use: "sig".to_owned(),
        }
    }

    /// From a JWK; `None` for any key that is not an Ed25519 signing key.
    pub fn from_jwk(jwk: &Jwk) -> Option<Self> {
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" || (!jwk.alg.is_empty() && jwk.alg != "EdDSA") {
            return None;
        }
        let bytes: [u8; 32] = B64.decode(&jwk.x).ok()?.try_into().ok()?;
        Some(Self { kid: jwk.kid.clone(), key: VerifyingKey::from_bytes(&bytes).ok()? })
    }
}

/// What svc-user publishes for verifiers: the keys, and the sessions that ended before
/// their access tokens expire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Published {
    /// Every key that may have signed a token still valid.
    pub keys: Vec<PublicKey>,
    /// Sessions (the `sid` claim) ended by a logout, a password change, or an account
    /// disabled, closed or given another role: their tokens are refused.
    pub revoked_sessions: Vec<String>,
}

/// Where a [`KeySet`] gets what it trusts.
pub type KeySource = Arc<dyn Fn() -> BoxFuture<'static, Result<Published, String>> + Send + Sync>;

/// What a [`KeySet`] holds right now.
#[derive(Default)]
struct Trusted {
    keys: HashMap<String, VerifyingKey>,
    revoked_sessions: HashSet<String>,
}

impl From<Published> for Trusted {
    fn from(published: Published) -> Self {
        Self {
            keys: published.keys.into_iter().map(|k| (k.kid, k.key)).collect(),
            revoked_sessions: published.revoked_sessions.into_iter().collect(),
        }
    }
}

/// The verifying keys by `kid`, and the revoked sessions, as last fetched.
pub struct KeySet {
    trusted: RwLock<Trusted>,
    source: Option<KeySource>,
    /// When the source was last asked because of an unknown `kid`; the lock also makes
    /// concurrent misses share a fetch.
    last_fetch: Mutex<Option<Instant>>,
}

impl KeySet {
    /// Trusts what `source` publishes: fetched on first use, whenever an unknown `kid` turns
    /// up, and on the schedule of [`KeySet::refresh_every`].
    pub fn new(source: KeySource) -> Self {
        Self { trusted: RwLock::default(), source: Some(source), last_fetch: Mutex::new(None) }
    }

    /// Exactly these keys, never refreshed, nothing revoked (tests, tools).
    pub fn fixed(keys: Vec<PublicKey>) -> Self {
        let trusted = Published { keys, revoked_sessions: Vec::new() }.into();
        Self { trusted: RwLock::new(trusted), source: None, last_fetch: Mutex::new(None) }
    }

    /// What svc-user at `user_addr` (`http://host:port`) publishes through `GetJwks`.
    pub fn remote(user_addr: &str) -> Result<Self, tonic::transport::Error> {
        let channel = tonic::transport::Endpoint::from_shared(user_addr.to_owned())?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5))
            .connect_lazy();
        let source: KeySource = Arc::new(move || {
            let mut client = UserServiceClient::new(channel.clone());
            Box::pin(async move {
                let response = client.get_jwks(GetJwksRequest {}).await.map_err(|status| status.to_string())?;
                let response = response.into_inner();
                Ok(Published {
                    keys: response.keys.iter().filter_map(PublicKey::from_jwk).collect(),
                    revoked_sessions: response.revoked_sessions,
                })
            })
        });
        Ok(Self::new(source))
    }

    /// Fetches from the source every `interval` while the set is in use, so a retired key
    /// stops being trusted and a revoked session is refused within one interval. A failed
    /// fetch keeps what was trusted before (and is logged); the next interval tries again.
    pub fn refresh_every(self: &Arc<Self>, interval: Duration) {
        if self.source.is_none() {
            return;
        }
        let set = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // The last user of the set is gone: so is the need to refresh it.
                let Some(set) = set.upgrade() else { return };
                if let Err(error) = set.refresh().await {
                    tracing::warn!(%error, "could not refresh the token signing keys; keeping the last ones");
                }
            }
        });
    }

    /// Fetches from the source now and trusts exactly what it publishes.
    pub async fn refresh(&self) -> Result<(), String> {
        let Some(source) = &self.source else { return Ok(()) };
        let published = source().await?;
        *self.trusted.write().await = published.into();
        Ok(())
    }

    /// The key named `kid`, asking the source again if it is not known yet (at most once
    /// per [`REFETCH_INTERVAL`]).
    pub async fn get(&self, kid: &str) -> Option<VerifyingKey> {
        if let Some(key) = self.trusted.read().await.keys.get(kid) {
            return Some(*key);
        }
        self.source.as_ref()?;
        let mut last_fetch = self.last_fetch.lock().await;
        // Someone else may have fetched while we waited for the lock.
        if let Some(key) = self.trusted.read().await.keys.get(kid) {
            return Some(*key);
        }
        if last_fetch.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return None;
        }
        *last_fetch = Some(Instant::now());
        if let Err(error) = self.refresh().await {
            tracing::warn!(%error, "could not fetch the token signing keys");
            return None;
        }
        self.trusted.read().await.keys.get(kid).copied()
    }

    /// Whether key `kid` is trusted right now (without asking the source).
    pub async fn contains(&self, kid: &str) -> bool {
        self.trusted.read().await.keys.contains_key(kid)
    }

    /// Whether the session `sid` was ended early.
    pub async fn is_revoked(&self, sid: &str) -> bool {
        self.trusted.read().await.revoked_sessions.contains(sid)
    }

    /// Adds or replaces a key without asking the source (the issuer, after creating one).
    pub async fn insert(&self, key: PublicKey) {
        self.trusted.write().await.keys.insert(key.kid, key.key);
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use rand::rngs::OsRng;

    use super::*;

    #[test]
    fn jwk_round_trip() {
        let key = PublicKey { kid: "k1".into(), key: SigningKey::generate(&mut OsRng).verifying_key() };
        let jwk = key.to_jwk();
        assert_eq!((jwk.kty.as_str(), jwk.crv.as_str(), jwk.alg.as_str()), ("OKP", "Ed25519", "EdDSA"));
        assert_eq!(PublicKey::from_jwk(&jwk), Some(key));
    }

    #[tokio::test]
    async fn unknown_kids_refetch_at_most_once_per_interval() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let key = SigningKey::generate(&mut OsRng).verifying_key();
        let counter = calls.clone();
        let set = KeySet::new(Arc::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move {
                Ok(Published { keys: vec![PublicKey { kid: "k1".into(), key }], revoked_sessions: vec![] })
            })
        }));
        assert_eq!(set.get("k1").await, Some(key));
        assert_eq!(set.get("k1").await, Some(key));
        assert_eq!(set.get("nope").await, None);
        assert_eq!(set.get("nope-again").await, None);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}

#[cfg(test)]
mod refresh_tests {
    use std::sync::Mutex as StdMutex;

    use ed25519_dalek::SigningKey;
    use rand::rngs::OsRng;

    use super::*;

    #[tokio::test]
    async fn a_refresh_drops_what_is_no_longer_published() {
        let old = PublicKey { kid: "old".into(), key: SigningKey::generate(&mut OsRng).verifying_key() };
        let new = PublicKey { kid: "new".into(), key: SigningKey::generate(&mut OsRng).verifying_key() };
        let published = Arc::new(StdMutex::new(Published { keys: vec![old.clone()], revoked_sessions: vec![] }));
        let source = published.clone();
        let set = Arc::new(KeySet::new(Arc::new(move || {
            let now = source.lock().unwrap().clone();
            Box::pin(async move { Ok(now) })
        })));
        assert_eq!(set.get("old").await, Some(old.key));
        assert!(!set.is_revoked("s1").await);

        *published.lock().unwrap() = Published { keys: vec![new.clone()], revoked_sessions: vec!["s1".into()] };
        set.refresh_every(Duration::from_millis(20));
        tokio::time::timeout(Duration::from_secs(5), async {
            while set.trusted.read().await.keys.contains_key("old") {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the retired key was dropped");
        assert!(set.is_revoked("s1").await);
        assert_eq!(set.get("new").await, Some(new.key));
    }
}

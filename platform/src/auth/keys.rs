//! The public keys access tokens are checked against, by `kid`.
//!
//! A [`KeySet`] caches keys and asks its source again when a token names a `kid` it has not
//! seen (a key rotated in elsewhere), at most once per [`REFETCH_INTERVAL`] so a stream of
//! made-up kids cannot hammer the source. svc-user's source is its own database; every other
//! service's is svc-user's `GetJwks` ([`KeySet::remote`]).

use std::{
    collections::HashMap,
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

/// Where a [`KeySet`] gets its keys.
pub type KeySource = Arc<dyn Fn() -> BoxFuture<'static, Result<Vec<PublicKey>, String>> + Send + Sync>;

/// Cached verifying keys by `kid`.
pub struct KeySet {
    keys: RwLock<HashMap<String, VerifyingKey>>,
    source: Option<KeySource>,
    /// When the source was last asked; the lock also makes concurrent misses share a fetch.
    last_fetch: Mutex<Option<Instant>>,
}

impl KeySet {
    /// Keys fetched from `source` on first use and whenever an unknown `kid` turns up.
    pub fn new(source: KeySource) -> Self {
        Self { keys: RwLock::default(), source: Some(source), last_fetch: Mutex::new(None) }
    }

    /// Exactly these keys, never refreshed (tests, tools).
    pub fn fixed(keys: Vec<PublicKey>) -> Self {
        Self {
            keys: RwLock::new(keys.into_iter().map(|k| (k.kid, k.key)).collect()),
            source: None,
            last_fetch: Mutex::new(None),
        }
    }

    /// Keys published by svc-user at `user_addr` (`http://host:port`) through `GetJwks`.
    pub fn remote(user_addr: &str) -> Result<Self, tonic::transport::Error> {
        let channel = tonic::transport::Endpoint::from_shared(user_addr.to_owned())?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5))
            .connect_lazy();
        let source: KeySource = Arc::new(move || {
            let mut client = UserServiceClient::new(channel.clone());
            Box::pin(async move {
                let response = client.get_jwks(GetJwksRequest {}).await.map_err(|status| status.to_string())?;
                Ok(response.into_inner().keys.iter().filter_map(PublicKey::from_jwk).collect())
            })
        });
        Ok(Self::new(source))
    }

    /// The key named `kid`, asking the source again if it is not known yet.
    pub async fn get(&self, kid: &str) -> Option<VerifyingKey> {
        if let Some(key) = self.keys.read().await.get(kid) {
            return Some(*key);
        }
        let source = self.source.as_ref()?;
        let mut last_fetch = self.last_fetch.lock().await;
        // Someone else may have fetched while we waited for the lock.
        if let Some(key) = self.keys.read().await.get(kid) {
            return Some(*key);
        }
        if last_fetch.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return None;
        }
        *last_fetch = Some(Instant::now());
        match source().await {
            Ok(keys) => {
                let keys: HashMap<_, _> = keys.into_iter().map(|k| (k.kid, k.key)).collect();
                let found = keys.get(kid).copied();
                *self.keys.write().await = keys;
                found
            }
            Err(error) => {
                tracing::warn!(%error, "could not fetch the token signing keys");
                None
            }
        }
    }

    /// Adds or replaces a key without asking the source (the issuer, after creating one).
    pub async fn insert(&self, key: PublicKey) {
        self.keys.write().await.insert(key.kid, key.key);
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
            Box::pin(async move { Ok(vec![PublicKey { kid: "k1".into(), key }]) })
        }));
        assert_eq!(set.get("k1").await, Some(key));
        assert_eq!(set.get("k1").await, Some(key));
        assert_eq!(set.get("nope").await, None);
        assert_eq!(set.get("nope-again").await, None);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}

//! The signing key ring: which Ed25519 key signs new access tokens, and which public keys
//! are published (GetJwks) and trusted.
//!
//! Keys live in the database, so every replica and every restart agrees. A rotation (from
//! `svc-user keys rotate`, possibly in another process: [`crate::commands::keys`]) retires the old key; it stays
//! published until the last token it signed has expired, and replicas pick up the new key
//! within [`SIGNER_REFRESH`].

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use ed25519_dalek::{SigningKey, VerifyingKey};
use mart_platform::auth::{KeySet, PublicKey};
use rand::rngs::OsRng;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use tokio::sync::RwLock;

use crate::store::signing_keys;

/// How long a replica keeps signing with the key it loaded before checking for a newer one.
pub const SIGNER_REFRESH: Duration = Duration::from_secs(30);

/// Signing and published keys of svc-user.
pub struct KeyRing {
    db: DatabaseConnection,
    /// How long retired keys stay published: the access token lifetime plus the refresh
    /// delay of other replicas' signers.
    publish_for: Duration,
    signer: RwLock<Option<(Instant, String, SigningKey)>>,
    key_set: Arc<KeySet>,
}

impl KeyRing {
    /// Opens the ring, creating the first key if there is none.
    pub async fn open(db: DatabaseConnection, access_token_ttl: Duration) -> Result<Arc<Self>, DbErr> {
        if signing_keys::active(&db).await?.is_none() {
            create(&db).await?;
        }
        let publish_for = access_token_ttl + SIGNER_REFRESH + Duration::from_secs(60);
        let source_db = db.clone();
        let key_set = Arc::new(KeySet::new(Arc::new(move || {
            let db = source_db.clone();
            Box::pin(async move { published(&db, publish_for).await.map_err(|e| e.to_string()) })
        })));
        Ok(Arc::new(Self { db, publish_for, signer: RwLock::new(None), key_set }))
    }

    /// The keys tokens are verified against (this service's own access check).
    pub fn key_set(&self) -> Arc<KeySet> {
        self.key_set.clone()
    }

    /// The key to sign with now, and its `kid`.
    pub async fn signer(&self) -> Result<(String, SigningKey), DbErr> {
        if let Some((loaded, kid, key)) = &*self.signer.read().await
            && loaded.elapsed() < SIGNER_REFRESH
        {
            return Ok((kid.clone(), key.clone()));
        }
        let row = match signing_keys::active(&self.db).await? {
            Some(row) => row,
            None => {
                create(&self.db).await?;
                signing_keys::active(&self.db).await?.ok_or_else(|| DbErr::Custom("no signing key".into()))?
            }
        };
        let key = signing_key(&row)?;
        self.key_set.insert(PublicKey { kid: row.kid.clone(), key: key.verifying_key() }).await;
        *self.signer.write().await = Some((Instant::now(), row.kid.clone(), key.clone()));
        Ok((row.kid, key))
    }

    /// The keys GetJwks publishes.
    pub async fn published(&self) -> Result<Vec<PublicKey>, DbErr> {
        published(&self.db, self.publish_for).await
    }
}

/// Creates a new signing key in `db` (which may be a transaction); its `kid`.
pub(crate) async fn create<C: ConnectionTrait>(db: &C) -> Result<String, DbErr> {
    let key = SigningKey::generate(&mut OsRng);
    let kid = uuid::Uuid::now_v7().simple().to_string();
    signing_keys::insert(db, kid.clone(), key.to_bytes().to_vec(), key.verifying_key().to_bytes().to_vec()).await?;
    tracing::info!(kid, "created a token signing key");
    Ok(kid)
}

async fn published(db: &DatabaseConnection, publish_for: Duration) -> Result<Vec<PublicKey>, DbErr> {
    signing_keys::published(db, publish_for)
        .await?
        .iter()
        .map(|row| {
            let bytes: [u8; 32] = row.public_key.as_slice().try_into().map_err(|_| corrupt(&row.kid))?;
            let key = VerifyingKey::from_bytes(&bytes).map_err(|_| corrupt(&row.kid))?;
            Ok(PublicKey { kid: row.kid.clone(), key })
        })
        .collect()
}

fn signing_key(row: &signing_keys::Model) -> Result<SigningKey, DbErr> {
    let bytes: [u8; 32] = row.private_key.as_slice().try_into().map_err(|_| corrupt(&row.kid))?;
    Ok(SigningKey::from_bytes(&bytes))
}

fn corrupt(kid: &str) -> DbErr {
    DbErr::Custom(format!("signing key {kid} is corrupt"))
}

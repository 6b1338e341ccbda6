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
use mart_platform::auth::{KeySet, PublicKey, Published};
use rand::rngs::OsRng;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use tokio::sync::RwLock;

use crate::store::{refresh_tokens, signing_keys};

pub mod sealing;

pub use sealing::{SealError, Sealer};

/// The sealer of `config`: `MART_KEY_ENCRYPTION_KEY`, else the key in
/// `$MART_DATA_DIR/user-key-encryption.key`, created when missing.
pub fn sealer(config: &crate::Config) -> Result<Sealer, SealError> {
    let configured = config.own.key_encryption_key.as_ref().map(|key| key.expose());
    Sealer::load(configured, &config.data_dir.join("user-key-encryption.key"))
}

/// How long a replica keeps signing with the key it loaded before checking for a newer one.
pub const SIGNER_REFRESH: Duration = Duration::from_secs(30);

/// Signing and published keys of svc-user.
pub struct KeyRing {
    db: DatabaseConnection,
    /// Seals private keys at rest.
    sealer: Sealer,
    /// How long retired keys stay published: the access token lifetime plus the refresh
    /// delay of other replicas' signers.
    publish_for: Duration,
    signer: RwLock<Option<(Instant, String, SigningKey)>>,
    key_set: Arc<KeySet>,
}

impl KeyRing {
    /// Opens the ring, creating the first key if there is none and sealing any key stored
    /// plain (from before keys were sealed).
    pub async fn open(db: DatabaseConnection, sealer: Sealer, access_token_ttl: Duration) -> Result<Arc<Self>, DbErr> {
        seal_plain_keys(&db, &sealer).await?;
        if signing_keys::active(&db).await?.is_none() {
            create(&db, &sealer).await?;
        }
        let publish_for = access_token_ttl + SIGNER_REFRESH + Duration::from_secs(60);
        let source_db = db.clone();
        let key_set = Arc::new(KeySet::new(Arc::new(move || {
            let db = source_db.clone();
            Box::pin(async move { published(&db, publish_for).await.map_err(|e| e.to_string()) })
        })));
        Ok(Arc::new(Self { db, sealer, publish_for, signer: RwLock::new(None), key_set }))
    }

    /// The keys tokens are verified against (this service's own access check).
    pub fn key_set(&self) -> Arc<KeySet> {
        self.key_set.clone()
    }

    /// The key to sign with now, and its `kid`.
    pub async fn signer(&self) -> Result<(String, SigningKey), DbErr> {
        // A key retired elsewhere (`svc-user keys retire`) leaves the published set at the
        // next refresh: stop signing with it then, not at the next SIGNER_REFRESH.
        if let Some((loaded, kid, key)) = &*self.signer.read().await
            && loaded.elapsed() < SIGNER_REFRESH
            && self.key_set.contains(kid).await
        {
            return Ok((kid.clone(), key.clone()));
        }
        let row = match signing_keys::active(&self.db).await? {
            Some(row) => row,
            None => {
                create(&self.db, &self.sealer).await?;
                signing_keys::active(&self.db).await?.ok_or_else(|| DbErr::Custom("no signing key".into()))?
            }
        };
        let key = signing_key(&self.sealer, &row)?;
        self.key_set.insert(PublicKey { kid: row.kid.clone(), key: key.verifying_key() }).await;
        *self.signer.write().await = Some((Instant::now(), row.kid.clone(), key.clone()));
        Ok((row.kid, key))
    }

    /// What GetJwks publishes: the keys, and the sessions ended early.
    pub async fn published(&self) -> Result<Published, DbErr> {
        published(&self.db, self.publish_for).await
    }
}

/// Creates a new signing key in `db` (which may be a transaction), sealed by `sealer`; its
/// `kid`.
pub(crate) async fn create<C: ConnectionTrait>(db: &C, sealer: &Sealer) -> Result<String, DbErr> {
    let key = SigningKey::generate(&mut OsRng);
    let kid = uuid::Uuid::now_v7().simple().to_string();
    let sealed = sealer.seal(&kid, &key.to_bytes());
    signing_keys::insert(db, kid.clone(), sealed, key.verifying_key().to_bytes().to_vec()).await?;
    tracing::info!(kid, "created a token signing key");
    Ok(kid)
}

/// The keys that may have signed a token still alive, and the sessions revoked while one
/// of their tokens may be: both for `publish_for`.
async fn published(db: &DatabaseConnection, publish_for: Duration) -> Result<Published, DbErr> {
    let keys = signing_keys::published(db, publish_for)
        .await?
        .iter()
        .map(|row| {
            let bytes: [u8; 32] = row.public_key.as_slice().try_into().map_err(|_| corrupt(&row.kid))?;
            let key = VerifyingKey::from_bytes(&bytes).map_err(|_| corrupt(&row.kid))?;
            Ok(PublicKey { kid: row.kid.clone(), key })
        })
        .collect::<Result<_, DbErr>>()?;
    let revoked_sessions = refresh_tokens::revoked_families(db, mart_platform::db::cutoff(publish_for)).await?;
    Ok(Published { keys, revoked_sessions })
}

fn signing_key(sealer: &Sealer, row: &signing_keys::Model) -> Result<SigningKey, DbErr> {
    let plain = sealer.open(&row.kid, &row.private_key).map_err(|error| DbErr::Custom(error.to_string()))?;
    let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| corrupt(&row.kid))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Seals every private key still stored plain, and checks that the sealed ones open: a
/// wrong `MART_KEY_ENCRYPTION_KEY` stops the start with a clear error, rather than every
/// login later.
async fn seal_plain_keys(db: &DatabaseConnection, sealer: &Sealer) -> Result<(), DbErr> {
    for row in signing_keys::all(db).await? {
        if Sealer::is_sealed(&row.private_key) {
            sealer.open(&row.kid, &row.private_key).map_err(|error| DbErr::Custom(error.to_string()))?;
        } else {
            let sealed = sealer.seal(&row.kid, &row.private_key);
            signing_keys::set_private_key(db, &row.kid, sealed).await?;
            tracing::info!(kid = %row.kid, "sealed a signing key stored plain");
        }
    }
    Ok(())
}

fn corrupt(kid: &str) -> DbErr {
    DbErr::Custom(format!("signing key {kid} is corrupt"))
}

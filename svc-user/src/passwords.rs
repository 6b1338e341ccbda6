//! argon2id password hashing. Hashing is deliberately slow, so it runs on the blocking pool
//! rather than stalling the async workers.

use std::sync::LazyLock;

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};

use crate::error::Error;

/// A hash of a password nobody has, verified against when the email is unknown so that
/// login takes the same time whether or not the account exists.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    // Hashing a fixed string with a fresh salt only fails on an invalid parameter set;
    // the defaults are valid.
    Argon2::default()
        .hash_password(b"no account has this password", &SaltString::generate(&mut OsRng))
        .expect("argon2 defaults hash")
        .to_string()
});

/// The argon2id PHC string of `password` (OWASP's parameters: 19 MiB, 2 passes).
pub async fn hash(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|hash| hash.to_string())
            .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("hashing task: {e}")))?
}

/// Whether `password` matches `hash`; `None` verifies against the decoy and says no.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, Error> {
    tokio::task::spawn_blocking(move || {
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| DECOY.clone());
        let parsed = PasswordHash::new(&hash).map_err(|e| Error::Internal(format!("stored hash: {e}")))?;
        let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(exists && matches)
    })
    .await
    .map_err(|e| Error::Internal(format!("hashing task: {e}")))?
}

/// Computes the decoy ahead of the first login, so that login is not slower than the rest.
pub fn warm_up() {
    LazyLock::force(&DECOY);
}

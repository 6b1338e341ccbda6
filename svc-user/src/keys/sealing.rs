//! Private signing keys are sealed at rest: XChaCha20-Poly1305 under a key-encryption key
//! from `MART_KEY_ENCRYPTION_KEY`, or, when that is unset, from a file in the data dir
//! that is created on first start (what `mart up` uses). The `kid` is the associated data,
//! so a sealed key cannot be passed off as another.
//!
//! What the database then holds is useless without the key-encryption key: an operator
//! protects that (a Kubernetes Secret, the data dir's permissions) and backs it up with the
//! database — without it, the signing keys cannot be opened and everyone signs in again.

use std::path::{Path, PathBuf};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use rand::RngCore;

/// The prefix of a sealed key; a row without it is a plain key from before sealing.
const SEALED_V1: &[u8] = b"xc1";

/// The key-encryption key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// Why the key-encryption key could not be had, or a sealed key not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// `MART_KEY_ENCRYPTION_KEY` or its file is not 32 bytes in base64.
    #[error("{0}: expected 32 bytes in base64 (generate one with `openssl rand -base64 32`)")]
    Malformed(String),
    /// The file could not be read or created.
    #[error("{path}: {error}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A sealed key did not open: another key-encryption key sealed it, or it was altered.
    #[error("signing key {0} does not open with this MART_KEY_ENCRYPTION_KEY")]
    WrongKey(String),
}

impl Sealer {
    /// A sealer with `key`.
    pub fn new(key: [u8; 32]) -> Self {
        Self { cipher: XChaCha20Poly1305::new(&key.into()) }
    }

    /// A random key-encryption key, base64, as `MART_KEY_ENCRYPTION_KEY` takes it.
    pub fn generate() -> String {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        B64.encode(key)
    }

    /// The key in `configured` (the variable's value), else the one in `file`, created
    /// (readable by its owner only) when there is none.
    pub fn load(configured: Option<&str>, file: &Path) -> Result<Self, SealError> {
        if let Some(value) = configured {
            return parse(value).map(Self::new).ok_or_else(|| SealError::Malformed("MART_KEY_ENCRYPTION_KEY".into()));
        }
        let file_error = |error| SealError::File { path: file.to_owned(), error };
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(file_error)?;
                }
                let key = Self::generate();
                write_private(file, &key).map_err(file_error)?;
                tracing::info!(file = %file.display(), "created the key-encryption key for the signing keys; back it up with the database");
                key
            }
            Err(error) => return Err(file_error(error)),
        };
        parse(&text).map(Self::new).ok_or_else(|| SealError::Malformed(file.display().to_string()))
    }

    /// `private_key` of `kid`, sealed.
    pub fn seal(&self, kid: &str, private_key: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encrypting into a Vec fails only on a buffer too large, which 32 bytes are not.
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: private_key, aad: kid.as_bytes() })
            .expect("a 32-byte key seals");
        [SEALED_V1, &nonce, &sealed].concat()
    }

    /// The private key of `kid` from what is stored: opened when sealed, as it is when it is
    /// a plain key from before sealing (see [`Sealer::is_sealed`]).
    pub fn open(&self, kid: &str, stored: &[u8]) -> Result<Vec<u8>, SealError> {
        let Some(rest) = stored.strip_prefix(SEALED_V1) else {
            return Ok(stored.to_vec());
        };
        if rest.len() < 24 {
            return Err(SealError::WrongKey(kid.to_owned()));
        }
        let (nonce, sealed) = rest.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: kid.as_bytes() })
            .map_err(|_| SealError::WrongKey(kid.to_owned()))
    }

    /// Whether `stored` is sealed (else a plain key written before sealing existed).
    pub fn is_sealed(stored: &[u8]) -> bool {
        stored.starts_with(SEALED_V1)
    }
}

fn parse(value: &str) -> Option<[u8; 32]> {
    B64.decode(value.trim()).ok()?.try_into().ok()
}

fn write_private(file: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_with_its_kid_and_kek_only() {
        let sealer = Sealer::new([7; 32]);
        let sealed = sealer.seal("k1", &[1; 32]);
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.windows(32).any(|w| w == [1; 32]), "the plain key is not in what is stored");
        assert_eq!(sealer.open("k1", &sealed).unwrap(), vec![1; 32]);
        assert!(matches!(sealer.open("k2", &sealed), Err(SealError::WrongKey(_))), "another kid");
        assert!(matches!(Sealer::new([8; 32]).open("k1", &sealed), Err(SealError::WrongKey(_))), "another kek");
        assert_eq!(sealer.open("k1", &[1; 32]).unwrap(), vec![1; 32], "a plain key from before sealing");
    }

    #[test]
    fn the_kek_comes_from_the_variable_or_a_file_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("user-key-encryption.key");
        let sealed = Sealer::load(None, &file).unwrap().seal("k1", &[3; 32]);
        assert!(file.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(Sealer::load(None, &file).unwrap().open("k1", &sealed).unwrap(), vec![3; 32], "the same file again");

        let configured = Sealer::generate();
        assert!(Sealer::load(Some(&configured), &file).unwrap().open("k1", &sealed).is_err(), "the variable wins");
        assert!(matches!(Sealer::load(Some("short"), &file), Err(SealError::Malformed(_))));
    }
}

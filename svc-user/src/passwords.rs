//! argon2id password hashing. Hashing is deliberately slow, so it runs on threads of its
//! own rather than stalling the async workers, and costly in memory (19 MiB a hash), so at most
//! [`limit`]'s number run at once in this process: the rest wait briefly in line, then are
//! told to come back (RESOURCE_EXHAUSTED with a retry delay) instead of growing the
//! process past its memory budget. Login, Register and ChangePassword all go through here,
//! the decoy for unknown emails included.

use std::{
    cell::RefCell,
    sync::{
        Arc, LazyLock, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::{Semaphore, SemaphorePermit};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{self, Output, ParamsString, PasswordHash, PasswordHasher, SaltString, rand_core::OsRng},
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

/// The hashing threads and the line in front of them.
///
/// Hashes run on threads of their own, as many as may hash at once, rather than on tokio's
/// blocking pool: the allocator keeps a freed 19 MiB block in the arena of the thread that
/// used it, so hashes spread over a pool of hundreds of threads hold hundreds of blocks.
/// On a fixed few threads the process holds a fixed few.
struct Gate {
    permits: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    wait: Duration,
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl Gate {
    fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..concurrency {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name(format!("password-hash-{n}")).spawn(move || {
                loop {
                    // A poisoned lock means a job panicked while another waited: go on.
                    let job = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return, // the sender is gone: the process is ending
                    }
                }
            });
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a password hashing thread");
            }
        }
        Self {
            permits: Semaphore::new(concurrency),
            waiting: AtomicUsize::new(0),
            max_waiting: concurrency * 16,
            wait: WAIT,
            jobs,
        }
    }
}

static GATE: OnceLock<Gate> = OnceLock::new();

/// The default of `MART_PASSWORD_HASH_CONCURRENCY`: 4 hashes, 76 MiB.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How long a hash waits for its turn before the caller is told to retry.
const WAIT: Duration = Duration::from_secs(2);

/// Allows `concurrency` hashes at once in this process (the first call decides: the
/// memory budget is the process's, whatever number of svc-users it runs).
pub fn limit(concurrency: usize) {
    GATE.get_or_init(|| Gate::new(concurrency));
}

/// Runs `work` on a hashing thread once it is this caller's turn, or [`Error::Busy`] when
/// the line is too long or does not move in time.
async fn on_hashing_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let gate = GATE.get_or_init(|| Gate::new(DEFAULT_CONCURRENCY));
    let _turn = turn(gate).await?;
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(work());
    });
    gate.jobs.send(job).map_err(|_| Error::Internal("the password hashing threads are gone".to_owned()))?;
    result.await.map_err(|_| Error::Internal("a password hashing job failed".to_owned()))
}

async fn turn(gate: &'static Gate) -> Result<SemaphorePermit<'static>, Error> {
    if let Ok(permit) = gate.permits.try_acquire() {
        return Ok(permit);
    }
    if gate.waiting.fetch_add(1, Ordering::SeqCst) >= gate.max_waiting {
        gate.waiting.fetch_sub(1, Ordering::SeqCst);
        return Err(Error::Busy);
    }
    let permit = tokio::time::timeout(gate.wait, gate.permits.acquire()).await;
    gate.waiting.fetch_sub(1, Ordering::SeqCst);
    match permit {
        Ok(Ok(permit)) => Ok(permit),
        // Timed out, or the semaphore closed (it never is).
        _ => Err(Error::Busy),
    }
}

/// The argon2id PHC string of `password` (OWASP's parameters: 19 MiB, 2 passes).
pub async fn hash(password: String) -> Result<String, Error> {
    on_hashing_thread(move || {
        let argon2 = Argon2::default();
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(internal)?;
        let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
            with_memory(argon2.params().block_count(), |blocks| {
                argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, blocks)
            })
            .map_err(password_hash::Error::from)
        })
        .map_err(internal)?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(argon2.params()).map_err(internal)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(hash.to_string())
    })
    .await?
}

/// Whether `password` matches `hash`; `None` verifies against the decoy and says no.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, Error> {
    on_hashing_thread(move || {
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| DECOY.clone());
        let parsed = PasswordHash::new(&hash).map_err(|e| Error::Internal(format!("stored hash: {e}")))?;
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(internal)?;
        let version = parsed.version.map(Version::try_from).transpose().map_err(internal)?.unwrap_or_default();
        let params = Params::try_from(&parsed).map_err(internal)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(Error::Internal("stored hash: no salt or no hash".to_owned()));
        };
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(internal)?;
        let argon2 = Argon2::new(algorithm, version, params);
        let mut computed = vec![0u8; expected.len()];
        with_memory(argon2.params().block_count(), |blocks| {
            argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut computed, blocks)
        })
        .map_err(internal)?;
        // `Output`'s equality takes the same time wherever the bytes differ.
        let matches = Output::new(&computed).map_err(internal)? == expected;
        Ok(exists && matches)
    })
    .await?
}

thread_local! {
    /// The hashing thread's argon2 memory, reused by every hash it computes: allocated and
    /// freed for each, the allocator would keep the freed blocks around anyway (see [`Gate`]).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// `work` over this thread's argon2 memory of `blocks` blocks. Every block is written
/// before it is read, so what a previous hash left there does not matter.
fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        work(&mut memory[..blocks])
    })
}

fn internal(error: impl std::fmt::Display) -> Error {
    Error::Internal(format!("password hashing: {error}"))
}

/// Computes the decoy ahead of the first login, so that login is not slower than the rest.
pub fn warm_up() {
    LazyLock::force(&DECOY);
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier as _;

    use super::*;

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_that_verify() {
        let hash = hash("correct horse battery".to_owned()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        // Any argon2 implementation reads it, and ours reads theirs.
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(verify("correct horse battery".to_owned(), Some(hash.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".to_owned(), Some(hash)).await.unwrap());
        let theirs = Argon2::default()
            .hash_password(b"another passphrase", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify("another passphrase".to_owned(), Some(theirs)).await.unwrap());
        assert!(!verify("correct horse battery".to_owned(), None).await.unwrap(), "the decoy never matches");
    }
}

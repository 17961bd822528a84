//! argon2id password hashing on a small pool of dedicated threads.
//!
//! Measured here: hashing in `spawn_blocking` (even behind a semaphore) grows to 0.4–6 GiB of
//! RSS under 256 concurrent logins, because every blocking thread allocates its own 19 MiB and
//! the allocator keeps it, and it starves the runtime. Instead each worker thread owns one
//! pre-allocated argon2 memory block for its whole life, jobs wait in a bounded queue, and the
//! async side only awaits a reply.

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;
use tokio::sync::oneshot;

/// m = 19456 KiB, t = 2, p = 1 (the OWASP minimum for argon2id).
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
const OUTPUT_LEN: usize = 32;

/// Jobs allowed to wait for a worker before callers wait to enqueue.
const QUEUE_DEPTH: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("the password hashing workers have stopped")]
    Stopped,
    #[error("stored password hash is malformed: {0}")]
    Malformed(String),
}

enum Job {
    Hash {
        password: String,
        reply: oneshot::Sender<Result<String, HashError>>,
    },
    Verify {
        password: String,
        phc: String,
        reply: oneshot::Sender<Result<bool, HashError>>,
    },
}

/// Handle to the hashing pool; cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: flume::Sender<Job>,
    /// A real hash of a random password, verified against when the account does not exist so
    /// that "no such user" costs the same time as "wrong password".
    dummy_phc: std::sync::Arc<str>,
}

fn params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_LEN))
        .expect("valid argon2 parameters")
}

impl PasswordHasher {
    /// Starts `workers` threads (at least one), each holding its own argon2 memory.
    pub fn start(workers: usize) -> Self {
        let (jobs, queue) = flume::bounded::<Job>(QUEUE_DEPTH);
        // The first worker makes the dummy hash in its own memory: a 19 MiB block borrowed
        // for it here would raise the process's peak memory for good.
        let (dummy_sender, dummy) = std::sync::mpsc::channel();
        for index in 0..workers.max(1) {
            let queue = queue.clone();
            let dummy_sender = (index == 0).then(|| dummy_sender.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || worker(queue, dummy_sender))
                .expect("spawn password hashing thread");
        }
        let dummy_phc: String = dummy.recv().expect("the first hashing thread starts");
        Self {
            jobs,
            dummy_phc: dummy_phc.into(),
        }
    }

    /// Hashes a new password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send_async(Job::Hash {
                password: password.to_owned(),
                reply,
            })
            .await
            .map_err(|_| HashError::Stopped)?;
        answer.await.map_err(|_| HashError::Stopped)?
    }

    /// Checks a password against a stored PHC string. `None` (no such account) verifies against
    /// a dummy hash and answers `false` after the same work.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, HashError> {
        let (reply, answer) = oneshot::channel();
        let known = phc.is_some();
        self.jobs
            .send_async(Job::Verify {
                password: password.to_owned(),
                phc: phc.unwrap_or(&self.dummy_phc).to_owned(),
                reply,
            })
            .await
            .map_err(|_| HashError::Stopped)?;
        let matched = answer.await.map_err(|_| HashError::Stopped)??;
        Ok(known && matched)
    }
}

fn worker(queue: flume::Receiver<Job>, dummy: Option<std::sync::mpsc::Sender<String>>) {
    let mut memory = vec![Block::default(); params().block_count()];
    if let Some(dummy) = dummy {
        let password = SaltString::generate(&mut OsRng);
        let _ = dummy.send(hash_with(password.as_str(), &mut memory));
    }
    // The loop ends when every sender is gone, i.e. when the server shuts down.
    while let Ok(job) = queue.recv() {
        match job {
            Job::Hash { password, reply } => {
                let _ = reply.send(Ok(hash_with(&password, &mut memory)));
            }
            Job::Verify {
                password,
                phc,
                reply,
            } => {
                let _ = reply.send(verify_with(&password, &phc, &mut memory));
            }
        }
    }
}

fn hash_with(password: &str, memory: &mut [Block]) -> String {
    let salt = SaltString::generate(&mut OsRng);
    let mut raw_salt = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut raw_salt).expect("fresh salt decodes");
    let mut output = [0u8; OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut output, memory)
        .expect("argon2 accepts every password of at most 128 characters");
    let output = argon2::password_hash::Output::new(&output).expect("32-byte output");
    format!(
        "$argon2id$v=19$m={MEMORY_KIB},t={ITERATIONS},p={PARALLELISM}${}${}",
        salt.as_str(),
        output
    )
}

fn verify_with(password: &str, phc: &str, memory: &mut [Block]) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(phc).map_err(|e| HashError::Malformed(e.to_string()))?;
    let params = Params::try_from(&parsed).map_err(|e| HashError::Malformed(e.to_string()))?;
    let algorithm =
        Algorithm::try_from(parsed.algorithm).map_err(|e| HashError::Malformed(e.to_string()))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| HashError::Malformed(e.to_string()))?
        .unwrap_or(Version::V0x13);
    let (salt, expected) = match (parsed.salt, parsed.hash) {
        (Some(salt), Some(hash)) => (salt, hash),
        _ => return Err(HashError::Malformed("salt or hash missing".into())),
    };
    let mut raw_salt = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut raw_salt)
        .map_err(|e| HashError::Malformed(e.to_string()))?;
    let mut computed = vec![0u8; expected.len()];
    let hasher = Argon2::new(algorithm, version, params.clone());
    // Hashes made with other parameters (an older policy) get memory of their own size.
    let result = if params.block_count() <= memory.len() {
        hasher.hash_password_into_with_memory(
            password.as_bytes(),
            salt_bytes,
            &mut computed,
            &mut memory[..params.block_count()],
        )
    } else {
        hasher.hash_password_into(password.as_bytes(), salt_bytes, &mut computed)
    };
    result.map_err(|e| HashError::Malformed(e.to_string()))?;
    // `Output` compares in constant time.
    let computed = argon2::password_hash::Output::new(&computed)
        .map_err(|e| HashError::Malformed(e.to_string()))?;
    Ok(computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let hasher = PasswordHasher::start(1);
        let phc = hasher.hash("correct horse battery").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher
            .verify("correct horse battery", Some(&phc))
            .await
            .unwrap());
        assert!(!hasher
            .verify("correct horse batterY", Some(&phc))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn hashes_interoperate_with_the_reference_argon2_implementation() {
        let hasher = PasswordHasher::start(1);
        let ours = hasher.hash("mot de passe ünïcödé").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password("mot de passe ünïcödé".as_bytes(), &parsed)
            .is_ok());

        // A hash made elsewhere with other parameters verifies too.
        use argon2::PasswordHasher as _;
        let theirs = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(b"another password", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(hasher
            .verify("another password", Some(&theirs))
            .await
            .unwrap());
        assert!(!hasher
            .verify("not the password", Some(&theirs))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        let hasher = PasswordHasher::start(1);
        assert!(!hasher.verify("anything at all", None).await.unwrap());
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_error_not_a_match() {
        let hasher = PasswordHasher::start(1);
        assert!(hasher.verify("x", Some("not a phc string")).await.is_err());
    }

    #[tokio::test]
    async fn salts_differ_between_hashes_of_one_password() {
        let hasher = PasswordHasher::start(2);
        let (a, b) = tokio::join!(hasher.hash("same password"), hasher.hash("same password"));
        assert_ne!(a.unwrap(), b.unwrap());
    }
}

//! The reference for the login figure: how many argon2id verifications per second
//! the machine does with the server's parameters on N threads, with nothing else around them.
//!
//! `cargo bench --features ssr --bench argon2_rate -- [threads] [seconds]`; prints one line,
//! `argon2_verifications_per_second=<rate>`, which `benches/run` reads.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use latchkey::server::crypto::password::{ITERATIONS, MEMORY_KIB, PARALLELISM};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    // `cargo bench` passes `--bench`; take the numbers that follow it, if any.
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let threads = numbers.first().copied().unwrap_or(2).max(1) as usize;
    let seconds = numbers.get(1).copied().unwrap_or(10).max(1);

    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(32)).unwrap();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"benchmark-salt-16").unwrap();
    let phc = argon2
        .hash_password(b"correct horse battery staple", &salt)
        .unwrap()
        .to_string();

    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (argon2, phc, done) = (argon2.clone(), phc.clone(), done.clone());
            std::thread::spawn(move || {
                let parsed = PasswordHash::new(&phc).unwrap();
                while Instant::now() < deadline {
                    argon2
                        .verify_password(b"correct horse battery staple", &parsed)
                        .expect("the password verifies");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!("argon2_verifications_per_second={rate:.1} threads={threads}");
}

//! The console's account search at scale (SPEC §14: p99 ≤ 50 ms with 1,000,000 accounts, on
//! SQLite and on PostgreSQL), for benches/run.
//!
//! `admin_search <database-url> [accounts]` migrates the database (`store::connect`), fills
//! it with `accounts` made-up accounts (default 1,000,000) if it holds fewer, with a loader
//! only this benchmark uses (multi-row INSERTs in large transactions, no password hashing),
//! then times the searches the console makes: prefixes of usernames of 1 to 6 characters, of
//! e-mail addresses, phone numbers, and ids, a first page each and some later pages, one at a
//! time through `store::admin::search` (the SQL the console and the admin API run). Prints
//! `search_p50_ms=…`, `search_p99_ms=…`, `search_max_ms=…`, `searches=…`, `accounts=…`.
//! A plain main (`harness = false`).

use latchkey::server::store::admin::{search, Query};
use latchkey::server::store::{self, Db};
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// Syllables for names that share prefixes the way real ones do (many start alike).
const SYLLABLES: [&str; 24] = [
    "al", "an", "ba", "be", "ca", "da", "de", "el", "fa", "ga", "ha", "ia", "jo", "ka", "li", "ma",
    "mi", "na", "ol", "pa", "ra", "sa", "ta", "zo",
];
const DOMAINS: [&str; 6] = [
    "example.com",
    "mail.example",
    "corp.example",
    "qq.example",
    "163.example",
    "uni.example",
];

fn username(n: u64, rng: &mut impl Rng) -> String {
    let parts = rng.gen_range(2..=4);
    let mut name: String = (0..parts)
        .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
        .collect();
    name.push_str(&n.to_string());
    name
}

async fn load(db: &Db, wanted: u64) -> u64 {
    let have = store::users::count(db).await.expect("count") as u64;
    if have >= wanted {
        return have;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(have);
    let now = store::now();
    let batch = 500u64;
    let mut n = have;
    let started = Instant::now();
    while n < wanted {
        let mut tx = db.begin_write().await.expect("a write transaction");
        for _ in 0..40 {
            if n >= wanted {
                break;
            }
            let rows = batch.min(wanted - n);
            let mut sql = String::from(
                "INSERT INTO users (username, email, email_key, phone_country_code, phone_number, \
                 phone_e164, password_hash, created_at, updated_at) VALUES ",
            );
            for i in 0..rows {
                let id = n + i;
                let name = username(id, &mut rng);
                let email = format!("{name}@{}", DOMAINS[rng.gen_range(0..DOMAINS.len())]);
                // One account in ten has a phone number.
                let phone = if id.is_multiple_of(10) {
                    let number = format!("13{:09}", id);
                    format!("'86', '{number}', '+86{number}'")
                } else {
                    "NULL, NULL, NULL".into()
                };
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "('{name}', '{email}', '{email}', {phone}, 'bench-no-password', '{now}', '{now}')"
                ));
            }
            match &mut tx {
                store::Tx::Sqlite(tx, _) => {
                    sqlx::query(&sql).execute(&mut **tx).await.expect("insert");
                }
                store::Tx::Postgres(tx) => {
                    sqlx::query(&sql).execute(&mut **tx).await.expect("insert");
                }
            }
            n += rows;
        }
        tx.commit().await.expect("commit");
    }
    if let Db::Postgres(pool) = db {
        // Fresh statistics, as autovacuum would have made them by the time anyone searches.
        sqlx::query("ANALYZE users")
            .execute(pool)
            .await
            .expect("analyze");
    }
    eprintln!("loaded {} accounts in {:?}", n - have, started.elapsed());
    n
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let url = args
        .next()
        .expect("usage: admin_search <database-url> [accounts]");
    let wanted: u64 = args
        .next()
        .map(|n| n.parse().expect("a count"))
        .unwrap_or(1_000_000);
    let db = store::connect(&url).await.expect("the database");
    let accounts = load(&db, wanted).await;

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut queries = Vec::new();
    for _ in 0..300 {
        let name = username(rng.gen_range(0..accounts), &mut rng);
        let length = rng.gen_range(1..=6).min(name.len());
        queries.push((Query::Text(name[..length].to_owned()), rng.gen_range(0..3)));
    }
    for _ in 0..100 {
        let domain = DOMAINS[rng.gen_range(0..DOMAINS.len())];
        let name = username(rng.gen_range(0..accounts), &mut rng);
        queries.push((Query::Text(format!("{}@{}", &name[..4], &domain[..2])), 0));
    }
    for _ in 0..100 {
        let digits: String = (0..rng.gen_range(3..9))
            .map(|_| rng.gen_range(0..10).to_string())
            .collect();
        queries.push((Query::Phone(format!("+8613{digits}")), 0));
    }
    for _ in 0..100 {
        queries.push((Query::Id(rng.gen_range(1..=accounts as i64)), 0));
    }
    // Warm the caches the way a running server's would be.
    for (query, page) in queries.iter().take(50) {
        search(&db, query, *page).await.expect("search");
    }
    let mut times = Vec::with_capacity(queries.len());
    for (query, page) in &queries {
        let started = Instant::now();
        let found = search(&db, query, *page).await.expect("search");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(found);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!("accounts={accounts}");
    println!("searches={}", times.len());
    println!("search_p50_ms={:.2}", at(0.50));
    println!("search_p99_ms={:.2}", at(0.99));
    println!("search_max_ms={:.2}", times[times.len() - 1]);
}

//! The HTTP tests: a real server per test (or several, for the multi-node tests), on SQLite,
//! or on PostgreSQL when `LATCHKEY_TEST_POSTGRES` names a cluster. One test binary, so they
//! compile and link once. The timing tests (`enumeration.rs`) and the tests of the binary as a
//! process (`process.rs`) have binaries of their own: the first must not share the CPU with
//! these, the second must not share a process with them.

#[path = "../common/mod.rs"]
mod common;

mod account;
mod account_life;
mod admin;
mod failover;
mod hardening;
mod languages;
mod nodes;
mod oidc;
mod openapi;
mod recovery;
mod review;
mod second_factors;
mod second_review;
mod temporal_auth;
mod web_session;

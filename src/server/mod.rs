//! Everything that only runs on the server: configuration, storage, crypto, the services that
//! implement each flow, and the HTTP adapters (REST surfaces and the session cookie).

pub mod admin;
pub mod auth;
pub mod client_limits;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod edge;
pub mod form_origin;
pub mod listener;
pub mod log_sink;
pub mod page_cache;
pub mod page_headers;
pub mod purge_job;
pub mod refusal;
pub mod request_id;
pub mod rest;
pub mod services;
pub mod session;
pub mod startup;
pub mod state;
pub mod store;

//! Everything that only runs on the server, in layers whose imports point down:
//!
//! - the process: `config`, `state`, `startup` (the router), `listener`, `log_sink`, `admin`
//!   (the command line), `purge_job`;
//! - `http`: what every request passes through (the edge middleware, request ids, cookies, the
//!   session's resolution, forms sent without JavaScript, kept pages, page headers, refusals);
//! - `rest`: the REST surfaces, one module per API document;
//! - `services`: one module per capability, speaking domain types and `ServiceError`;
//! - `store`, `crypto`, `delivery`: the database, the cryptography, mail and SMS.

pub mod admin;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod http;
pub mod listener;
pub mod log_sink;
pub mod purge_job;
pub mod rest;
pub mod services;
pub mod startup;
pub mod state;
pub mod store;

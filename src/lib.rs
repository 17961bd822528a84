//! Latchkey: a self-hosted account service. docs/architecture.md has the map of the code.

pub mod api;
pub mod app;
pub mod domain;
pub mod i18n;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser entry point: readies the reactive system, after which Leptos' island script
/// hydrates each island on the page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}

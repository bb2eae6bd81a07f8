//! Gatehouse's headless engine: everything that is not a window.
//!
//! It owns the data directory, the SQLite store, the registered servers and
//! their secrets in the OS keychain, and the contract the desktop app speaks
//! to its UI. It has no Tauri, WebKit or GTK dependency: the lean `gatehouse`
//! binary that clients launch links it, and a check in the test command fails
//! if that ever changes. The desktop app is a thin layer over it.
#![deny(missing_docs)]

pub mod alerts;
pub mod approvals;
pub mod audit;
mod brisk;
pub mod clients;
mod engine;
mod error;
pub mod gateway;
pub mod install;
pub mod ipc;
pub mod oauth;
mod paths;
pub mod pins;
pub mod policy;
pub mod proxy;
pub mod registry;
pub mod remote;
pub mod scan;
mod secrets;
mod servers;
pub mod settings;
mod store;
mod time;

pub use engine::Engine;
pub use error::{Error, Result};
pub use paths::DataDir;
pub use policy::{Decision, PolicySnapshot, Rule, Verdict};
pub use secrets::{Keychain, MemorySecrets, SecretStore, SecretValue};
pub use servers::{NewServer, Server, Transport, validate_env_key, validate_server_name};
pub use store::{ChangeWatcher, SCHEMA_VERSION, Store, Topic};
pub use time::{now_micros, parse_rfc3339, rfc3339};

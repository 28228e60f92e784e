//! The ARM client: clouds and endpoints, authentication (azure_identity), HTTP (reqwest), pure
//! retry decisions, the LRO poller, paging, and typed ARM errors carrying request ids.
//!
//! Must not import: `config`, `plan`, `apply`, `cli`, `sandbox`.

mod client;
pub mod error;

pub use client::{ArmClient, AuthChoice, Cloud, ClientSettings, EnvCredentials};
pub use error::AzureError;

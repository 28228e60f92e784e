//! The ARM client: clouds and endpoints, authentication (azure_identity), HTTP (reqwest), pure
//! retry decisions, the LRO poller, paging, and typed ARM errors carrying request ids.
//!
//! Must not import: `config`, `plan`, `apply`, `cli`, `sandbox`.

pub mod auth;
mod client;
pub mod cloud;
pub mod error;
pub mod http;
pub mod lro;
pub mod paging;
pub mod retry;

pub use client::{ArmClient, AuthChoice, ClientSettings, Cloud, EnvCredentials, OperationProgress};
pub use error::AzureError;
pub use http::HttpTimeouts;
pub use lro::LroPolicy;
pub use retry::RetryPolicy;

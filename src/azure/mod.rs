//! The ARM client: clouds and endpoints, authentication (azure_identity), HTTP (reqwest), pure
//! retry decisions, the client-side rate limiter, the LRO poller, paging, and typed ARM errors
//! carrying request ids.
//!
//! Must not import: `config`, `model` (requests come as `request::ArmRequest`), `plan`, `apply`,
//! `cli`, `sandbox`, `ops`.
//!
//! Layout: [`cloud`] (endpoints, audience), [`http`] (the one reqwest client, CA, user agent),
//! [`auth`] (credential choice and chain, GitHub OIDC assertion, token cache), [`retry`],
//! [`ratelimit`] (ARM's token buckets), [`memo`] (one read per key, shared by concurrent askers), [`graph_quota`] (Resource Graph's quota), [`lro`] and [`paging`] (pure decisions, unit-tested
//! without I/O), [`error`] (typed errors,
//! ARM/RS/Entra error bodies), `client` (the only place that sends and sleeps).
//!
//! What a server (Azure, or the sandbox) must do for this client:
//! - speak https with a certificate chaining to a trusted root (or to `ca_cert_pem`);
//! - serve the token endpoint at `{authority}/{tenant}/oauth2/v2.0/token` (azure_identity);
//! - send `Azure-AsyncOperation` / `Location` / `nextLink` as **absolute https URLs on the ARM
//!   endpoint's host and port** (path case and api-version are free); others are refused;
//! - send `retry-after-ms` (exact) or `Retry-After` (seconds, floored at 1 s) to pace polls and
//!   retries; without them polls wait `LroPolicy::default_delay` (10 s);
//! - answer errors with the ARM envelope and an `x-ms-request-id` header.

pub mod auth;
mod client;
pub mod cloud;
pub mod error;
pub mod graph_quota;
pub mod http;
pub mod lro;
pub mod memo;
pub mod paging;
pub mod ratelimit;
pub mod retry;

#[cfg(test)]
pub(crate) use client::offline_settings;
pub use client::{ArmClient, AuthChoice, ClientSettings, Cloud, EnvCredentials, OperationProgress};
pub use error::AzureError;
pub use http::HttpTimeouts;
pub use lro::LroPolicy;
pub use ratelimit::{LimiterStats, RateLimits};
pub use retry::RetryPolicy;

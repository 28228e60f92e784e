//! Typed ARM errors: the ARM error code and message, the resource id, and `x-ms-request-id`.

/// Anything that can go wrong talking to Azure.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AzureError {
    /// ARM answered with an error status.
    #[error("{method} {resource}: {status} {code}: {message} (x-ms-request-id: {request_id})")]
    Arm {
        method: String,
        resource: String,
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    /// A long-running operation finished as Failed or Canceled.
    #[error("{resource}: operation {status}: {code}: {message} (x-ms-request-id: {request_id})")]
    OperationFailed {
        resource: String,
        status: String,
        code: String,
        message: String,
        request_id: String,
    },
    /// Could not obtain a token.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Connection, TLS or protocol failure after retries.
    #[error("{method} {resource}: {message}")]
    Transport {
        method: String,
        resource: String,
        message: String,
    },
    /// Client configuration is unusable (bad endpoint URL, unreadable CA file…).
    #[error("{0}")]
    Config(String),
}

impl AzureError {
    /// The HTTP status, when ARM answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            AzureError::Arm { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The ARM error code (`BMSUserErrorPolicyInUse`, `ResourceNotFound`…), when known.
    pub fn code(&self) -> Option<&str> {
        match self {
            AzureError::Arm { code, .. } | AzureError::OperationFailed { code, .. } => Some(code),
            _ => None,
        }
    }
}

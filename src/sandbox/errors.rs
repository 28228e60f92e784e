//! ARM error bodies: `{"error":{"code","message","target"?,"details"?}}` and the status that goes
//! with them. Every handler failure is an [`ArmError`]; nothing in the sandbox panics on bad input.

use serde_json::{json, Value};

/// An error answered to the client in ARM's envelope.
#[derive(Debug, Clone)]
pub struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// Extra response headers (e.g. `Retry-After` on 429, `WWW-Authenticate` on 401).
    pub headers: Vec<(String, String)>,
    /// A body that is not ARM's envelope (Entra token errors).
    pub raw_body: Option<Box<Value>>,
}

impl ArmError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ArmError {
            status,
            code: code.to_string(),
            message: message.into(),
            headers: Vec::new(),
            raw_body: None,
        }
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }
    pub fn with_header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }
    /// The envelope with `details` under its code and message (Resource Graph's refusals).
    pub fn with_details(mut self, details: Vec<Value>) -> Self {
        self.raw_body = Some(Box::new(json!({"error": {
            "code": self.code,
            "message": self.message,
            "details": details,
        }})));
        self
    }
    /// The JSON body the client receives.
    pub fn body(&self) -> Value {
        if let Some(raw) = &self.raw_body {
            return (**raw).clone();
        }
        json!({ "error": {"code": self.code, "message": self.message} })
    }
    // ---- common ARM errors ----

    pub fn resource_group_not_found(rg: &str) -> Self {
        Self::not_found(
            "ResourceGroupNotFound",
            format!("Resource group '{rg}' could not be found."),
        )
    }
    pub fn resource_not_found(rtype: &str, rg: &str, name: &str) -> Self {
        Self::not_found(
            "ResourceNotFound",
            format!(
                "The Resource '{rtype}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }
    /// 403 `AuthorizationFailed`: the caller `client` lacks `action` on `scope`, in the words
    /// ARM uses (as recorded for role assignments).
    pub fn authorization_failed(client: &str, action: &str, scope: &str) -> Self {
        ArmError::new(
            403,
            "AuthorizationFailed",
            format!(
                "The client '{client}' with object id '{client}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
            ),
        )
    }
    pub fn subscription_not_found(sub: &str) -> Self {
        Self::not_found(
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        )
    }
    pub fn invalid_json(e: impl std::fmt::Display) -> Self {
        Self::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    }
    pub fn invalid_resource_type(ns: &str, rtype: &str) -> Self {
        Self::not_found(
            "InvalidResourceType",
            format!("The resource type '{rtype}' could not be found in the namespace '{ns}' for api version in use."),
        )
    }
    pub fn no_route(path: &str) -> Self {
        Self::not_found(
            "NotFound",
            format!("The requested resource '{path}' was not found."),
        )
    }
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("The requested resource does not support http method '{method}'."),
        )
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalServerError", message)
    }
}

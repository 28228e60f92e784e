//! Replaying Microsoft's recorded Azure traffic: the cassettes ([`cassette`]), what azprotect's
//! readers make of their bodies ([`readers`]), and the sandbox answering the same requests
//! ([`conformance`]).

pub mod cassette;
pub mod conformance;
pub mod preconditions;
pub mod readers;

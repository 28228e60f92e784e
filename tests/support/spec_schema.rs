//! A small swagger-2.0 schema checker (filled in below).

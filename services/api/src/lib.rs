//! scope-api

//! scope-auth (skeleton).

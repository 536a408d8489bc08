//! scope-bus (skeleton).

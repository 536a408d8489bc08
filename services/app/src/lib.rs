//! scope-app

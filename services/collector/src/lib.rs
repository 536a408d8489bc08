//! scope-collector

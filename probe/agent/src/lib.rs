//! scope-probe

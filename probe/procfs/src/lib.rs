//! scope-probe-procfs

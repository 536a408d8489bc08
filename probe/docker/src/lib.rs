//! scope-probe-docker

//! scope-telemetry (skeleton).

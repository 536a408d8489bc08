//! scope-render

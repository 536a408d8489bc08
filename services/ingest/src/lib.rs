//! scope-ingest

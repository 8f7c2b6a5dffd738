//! Artifact rules (placeholder, being written).

//! Recording artifacts (placeholder, being written).

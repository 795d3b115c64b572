//! The synthetic register generator (being written).

//! Money as integer fen (being written).

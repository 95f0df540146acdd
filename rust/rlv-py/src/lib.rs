//! binding (in progress)

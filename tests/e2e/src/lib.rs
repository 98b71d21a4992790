//! End-to-end tests live in `tests/all`; this crate has no library code.

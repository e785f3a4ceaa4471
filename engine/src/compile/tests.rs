//! Compile unit tests.

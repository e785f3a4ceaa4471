//! mock-atria: placeholder until its issue lands.

//! mock-autotask: placeholder until its issue lands.

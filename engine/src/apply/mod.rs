//! Apply: a reviewed plan into Autotask, exactly once in effect (DESIGN.md, "Apply").

pub mod executor;
pub mod journal;

//! Hostile cases: crafted checkpoint refs, symlinks inside and outside the
//! root, FIFOs, odd file names, concurrent guarded steps, hostile
//! configuration and a hostile GitHub. Each case asserts that nothing
//! outside the paths lifeline may touch changed. One module per attack
//! surface; see docs/security.md for the guarantees they hold lifeline to.

mod checkpoints;
mod concurrent;
mod planning;
mod private_files;
mod records;
mod recover;
mod special_files;
mod symlinks;

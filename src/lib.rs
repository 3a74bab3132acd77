//! lifeline: makes repository automation recoverable.
//!
//! The library holds every behaviour; the `lifeline` binary only parses the
//! command line, calls in here, and renders the result.

pub mod atomic;
pub mod ci;
pub mod config;
pub mod error;
pub mod git;
pub mod paths;
pub mod redact;

pub use error::{Error, Result};

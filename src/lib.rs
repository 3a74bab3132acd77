//! lifeline: makes repository automation recoverable.
//!
//! The library holds every behaviour; the `lifeline` binary only parses the
//! command line, calls in here, and renders the result.

pub mod audit;
pub mod checkpoint;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod config;
pub(crate) mod drill;
pub mod error;
pub(crate) mod fs;
pub(crate) mod git;
pub mod github;
pub(crate) mod health;
pub mod recover;
pub mod redact;
pub(crate) mod report;
pub(crate) mod restore;
pub(crate) mod run;
#[cfg(test)]
mod test_support;
pub mod validate;
pub mod workspace;

pub use error::{Error, Result};

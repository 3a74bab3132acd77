//! lifeline: makes repository automation recoverable.
//!
//! The library holds every behaviour; the `lifeline` binary only parses the
//! command line, calls in here, and renders the result.

pub mod atomic;
pub mod audit;
pub mod checkpoint;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnostic;
pub mod drill;
pub mod error;
pub mod git;
pub mod github;
pub mod health;
pub mod incident;
pub mod paths;
pub mod protected;
pub mod recover;
pub mod redact;
pub mod render;
pub mod report;
pub mod restore;
pub mod rules;
pub mod taskmd;
#[cfg(test)]
mod test_support;
pub mod validate;
pub mod workspace;

pub use error::{Error, Result};

//! One module per user-facing operation. Each takes a [`Workspace`] and
//! options and returns a typed result; printing is the CLI's job.
//!
//! [`Workspace`]: crate::workspace::Workspace

pub mod audit;
pub mod checkpoint;
pub mod config;
pub mod health;
pub mod init;
pub mod starter;
pub mod validate;

//! One module per user-facing operation. Each takes a [`Workspace`] and
//! options and returns a typed result; printing is the CLI's job.
//!
//! [`Workspace`]: crate::workspace::Workspace

pub mod audit;
pub mod checkpoint;
pub mod config;
pub mod drill;
pub mod health;
pub mod incident;
pub mod init;
pub mod recover;
pub mod report;
pub mod restore;
pub mod run;
pub mod starter;
pub mod validate;

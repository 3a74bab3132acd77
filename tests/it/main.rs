//! lifeline's integration tests, in one binary (one link of the library
//! instead of one per feature). Each module is a feature, exercised through
//! the real binary in real git repositories, with a bare origin where
//! pushing matters and the fake GitHub on loopback where the API is
//! involved; `common` is the shared harness.

// A test binary exports nothing: `pub` here only shares between modules.
#![allow(unreachable_pub)]

mod common;

mod adoption;
mod attack18;
mod audit;
mod checkpoint;
mod checkpoint_crash;
mod checkpoint_objects;
mod checkpoint_speed;
mod claims18;
mod claims2;
mod config;
mod drill;
mod github_client;
mod health;
mod hostile;
mod init;
mod odd_names;
mod recover;
mod report;
mod report_html;
mod restore;
mod restore_crash;
mod restore_lock;
mod run;
mod transparency;
mod validate;

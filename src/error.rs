//! The error type every library operation returns, and how it maps to the
//! process exit code.
//!
//! lifeline's exit codes are part of its interface: 0 success, 1 the check
//! found problems (those are results, not errors), 2 usage, configuration or
//! environment errors. Everything in this type is an exit-2 condition.

use std::path::{Path, PathBuf};

/// Convenience alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure that stops a command before it can report a result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asked for something that cannot be done as stated.
    #[error("{message}")]
    Usage {
        message: String,
        help: Option<String>,
    },

    /// `lifeline.toml` (or another configuration input) is wrong.
    #[error("{path}:{line}:{column}: {message}")]
    Config {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        help: Option<String>,
    },

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A git command failed.
    #[error("git {command} failed: {message}")]
    Git { command: String, message: String },

    /// The environment lacks something the command needs (a repository,
    /// a token, a terminal).
    #[error("{message}")]
    Environment {
        message: String,
        help: Option<String>,
    },
}

impl Error {
    /// A usage error with an optional hint.
    pub fn usage(message: impl Into<String>, help: impl Into<Option<String>>) -> Self {
        Error::Usage {
            message: message.into(),
            help: help.into(),
        }
    }

    /// An environment error with an optional hint.
    pub fn environment(message: impl Into<String>, help: impl Into<Option<String>>) -> Self {
        Error::Environment {
            message: message.into(),
            help: help.into(),
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// The hint printed under the error, if any.
    pub fn help(&self) -> Option<&str> {
        match self {
            Error::Usage { help, .. }
            | Error::Config { help, .. }
            | Error::Environment { help, .. } => help.as_deref(),
            Error::Io { .. } | Error::Git { .. } => None,
        }
    }

    /// Every error is an exit-2 condition; see the module docs.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// Adds the path to an `io::Result`.
pub trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}

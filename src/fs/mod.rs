//! The file layer every write goes through: paths confined to the root
//! (no symlink, FIFO or device followed) and atomic, durable replacement.

pub(crate) mod atomic;
pub(crate) mod paths;

//! php-fpm: the supervised process and the pool of kept-alive connections to it.

pub mod backend;
mod output;
pub mod pools;
pub mod supervisor;
pub mod workers;

pub use backend::{Backend, BackendError, Lease};
pub use supervisor::{FpmError, FpmSettings, Supervisor};

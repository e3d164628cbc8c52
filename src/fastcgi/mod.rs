//! FastCGI: the wire format (no I/O), the CGI params built from a request, the request they make, and
//! the connection to php-fpm.

pub mod conn;
pub mod params;
pub mod request;
pub mod wire;

pub use conn::{Connection, FcgiError, Output};
pub use params::Params;
pub use request::Request;

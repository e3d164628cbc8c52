//! Request mapping: what PHP sees ($_SERVER, $_GET, $_POST, $_COOKIE, $_FILES, php://input) for every
//! event source; for the same HTTP request it must be what nginx + php-fpm would give PHP.

mod payload;
mod quirks;
mod server_vars;
mod sources;

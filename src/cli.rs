//! The command line: no arguments is the Lambda custom runtime, `serve` is local HTTP. Only the shape
//! of argv lives here (clap derive); what the values mean for the file system is decided in `config`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The `serve` front controllers tried in order when `--handler` is not given.
pub const DEFAULT_HANDLERS: [&str; 2] = ["public/index.php", "index.php"];

const USAGE: &str = "bootstrap                    run as the AWS Lambda custom runtime
       bootstrap serve [OPTIONS]    serve the app over HTTP on this machine";

const ABOUT: &str = "lambda-fpm: serves a PHP app through php-fpm, on AWS Lambda or locally.";

const LONG_ABOUT: &str = "lambda-fpm: serves a PHP app through php-fpm, on AWS Lambda or locally.

Without a command, `bootstrap` is the Lambda custom runtime (provided.al2023): it starts php-fpm,
takes API Gateway, Function URL and ALB events from the Runtime API (AWS_LAMBDA_RUNTIME_API) and
runs the function's Handler (_HANDLER, relative to LAMBDA_TASK_ROOT) for each of them.

`bootstrap serve` answers plain HTTP on this machine through the same code path.";

const SERVE_ABOUT: &str =
    "Serve the app over plain HTTP on this machine, through the same code path as on Lambda";

const SERVE_LONG_ABOUT: &str =
    "Serve the app over plain HTTP on this machine, through the same code path as on Lambda.

Each request becomes an HTTP API v2 event for the same pipeline. php-fpm is found as on Lambda
(LAMBDA_FPM_PHP_FPM, else php-fpm or php-fpm8.x on PATH or in /usr/sbin), and edited PHP files
take effect at once. Ctrl-C stops it.";

const AFTER_HELP: &str =
    "Everything else is set with environment variables (LAMBDA_FPM_DOCUMENT_ROOT,
LAMBDA_FPM_DENY, LAMBDA_FPM_WORKERS, ...): see docs/configuration.md in the lambda-fpm repository.";

/// `bootstrap [serve ...]`.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    name = "lambda-fpm",
    bin_name = "bootstrap",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    override_usage = USAGE,
    after_help = AFTER_HELP,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    #[command(about = SERVE_ABOUT, long_about = SERVE_LONG_ABOUT, after_help = AFTER_HELP)]
    Serve(ServeArgs),
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ServeArgs {
    /// The app's directory (what LAMBDA_TASK_ROOT is on Lambda)
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,
    /// The front controller, relative to --root [default: public/index.php, else index.php]
    #[arg(long, value_name = "FILE")]
    pub handler: Option<PathBuf>,
    /// The address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("bootstrap").chain(args.iter().copied()))
    }

    fn serve(args: &[&str]) -> ServeArgs {
        match parse(args).expect("valid command line").command {
            Some(Command::Serve(s)) => s,
            None => panic!("{args:?} should be serve"),
        }
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_arguments_is_lambda_mode() {
        assert_eq!(parse(&[]).expect("valid").command, None);
    }

    #[test]
    fn serve_defaults() {
        let s = serve(&["serve"]);
        assert_eq!(s.root, PathBuf::from("."));
        assert_eq!(s.handler, None, "the handler is looked up in the root");
        assert_eq!(s.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
    }

    #[test]
    fn serve_flags() {
        let s = serve(&[
            "serve",
            "--root",
            "app",
            "--handler",
            "web/app.php",
            "--listen",
            "[::1]:9000",
        ]);
        assert_eq!(s.root, PathBuf::from("app"));
        assert_eq!(s.handler, Some(PathBuf::from("web/app.php")));
        assert_eq!(s.listen, "[::1]:9000".parse::<SocketAddr>().expect("addr"));
        let s = serve(&["serve", "--listen=0.0.0.0:80", "--root=/srv"]);
        assert_eq!(s.listen.port(), 80);
        assert_eq!(s.root, PathBuf::from("/srv"));
    }

    #[test]
    fn usage_errors_name_the_flag() {
        let e = parse(&["serve", "--bogus"]).expect_err("unknown flag");
        assert_eq!(e.kind(), ErrorKind::UnknownArgument);
        assert!(e.to_string().contains("--bogus"), "{e}");
        assert_eq!(e.exit_code(), 2);

        let e = parse(&["serve", "--listen", "nonsense"]).expect_err("bad address");
        assert_eq!(e.kind(), ErrorKind::ValueValidation);
        assert!(e.to_string().contains("--listen"), "{e}");
        assert!(e.to_string().contains("nonsense"), "{e}");

        let e = parse(&["serve", "--root"]).expect_err("missing value");
        assert!(e.to_string().contains("--root"), "{e}");

        let e = parse(&["run"]).expect_err("unknown command");
        assert_eq!(e.kind(), ErrorKind::InvalidSubcommand);
        assert!(e.to_string().contains("run"), "{e}");

        // Lambda mode takes no options: a stray one is a usage error, not Lambda mode.
        let e = parse(&["--root", "x"]).expect_err("serve flag without serve");
        assert!(e.to_string().contains("--root"), "{e}");
    }

    #[test]
    fn help_and_version_are_not_failures() {
        for args in [
            &["--help"][..],
            &["-h"],
            &["serve", "--help"],
            &["help", "serve"],
        ] {
            let e = parse(args).expect_err("help is reported as an early exit");
            assert_eq!(e.kind(), ErrorKind::DisplayHelp, "{args:?}");
            assert_eq!(e.exit_code(), 0, "{args:?}");
        }
        for args in [&["--version"][..], &["-V"]] {
            let e = parse(args).expect_err("version is reported as an early exit");
            assert_eq!(e.kind(), ErrorKind::DisplayVersion);
            assert_eq!(e.exit_code(), 0);
        }
    }

    #[test]
    fn help_describes_both_modes_and_the_docs() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("bootstrap serve [OPTIONS]"), "{help}");
        assert!(help.contains("Lambda custom runtime"), "{help}");
        assert!(help.contains("docs/configuration.md"), "{help}");
        let mut cmd = Cli::command();
        let serve = cmd.find_subcommand_mut("serve").expect("serve");
        let help = serve.render_long_help().to_string();
        for flag in [
            "--root",
            "--handler",
            "--listen",
            "127.0.0.1:8080",
            "index.php",
        ] {
            assert!(help.contains(flag), "{flag} in {help}");
        }
    }
}

//! What `poll` and `receive` share at start-up: logging to stderr and reading the command line.

use std::io::{self, Write};
use std::process::ExitCode;

/// Logs to stderr, at `warn` unless `RUST_LOG` says otherwise.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
}

/// The parsed arguments, or the exit status when there is nothing to run: 0 after `--help`
/// (printed on stdout), 2 after a usage error (one line on stderr, prefixed with `program`).
pub fn args_or_exit<A>(
    program: &str,
    help: &str,
    parsed: Result<Option<A>, String>,
) -> Result<A, ExitCode> {
    match parsed {
        Ok(Some(args)) => Ok(args),
        Ok(None) => {
            let _ = io::stdout().write_all(help.as_bytes());
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            // Ignoring a failed write: a closed stderr must not take the process down.
            let _ = writeln!(io::stderr(), "{program}: {e} (see --help)");
            Err(ExitCode::from(2))
        }
    }
}

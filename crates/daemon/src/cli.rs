//! libvirt's daemon command line: `-f -p -t -v -d -V -h` and, for libvirtd, `-l`.

use clap::Parser;
use std::path::PathBuf;

/// Parsed command line.
#[derive(Debug, Clone, Parser, PartialEq, Eq)]
#[command(disable_help_flag = true, disable_version_flag = true)]
pub struct Cli {
    /// Run as a daemon and write PID file.
    #[arg(short = 'd', long = "daemon")]
    pub daemon: bool,
    /// Listen for TCP/IP connections (libvirtd only).
    #[arg(short = 'l', long = "listen")]
    pub listen: bool,
    /// Exit after timeout period (seconds of idleness).
    #[arg(
        short = 't',
        long = "timeout",
        value_name = "SECS",
        allow_hyphen_values = true
    )]
    pub timeout: Option<String>,
    /// Configuration file.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Change name of PID file.
    #[arg(short = 'p', long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Verbose messages.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Print version information.
    #[arg(short = 'V', long = "version")]
    pub version: bool,
    /// Display help.
    #[arg(short = 'h', long = "help")]
    pub help: bool,
}

/// libvirt's rule for --timeout: a base-10 integer from 0 to INT_MAX/1000.
pub fn parse_timeout(s: &str) -> Option<u32> {
    let v: i64 = s.parse().ok()?;
    if (0..=(i32::MAX as i64 / 1000)).contains(&v) {
        Some(v as u32)
    } else {
        None
    }
}

/// The usage text (stderr, as libvirt prints it), with this mode's default paths.
pub fn usage(argv0: &str, spec: &crate::family::DaemonSpec, paths: &crate::paths::Paths) -> String {
    use crate::family::Role;
    if spec.role != Role::Remote {
        let what = if spec.role == Role::Logd {
            "log"
        } else {
            "lock"
        };
        return format!(
            "\nUsage:\n  {argv0} [options]\n\nOptions:\n  -h | --help            Display program help:\n  -v | --verbose         Verbose messages.\n  -d | --daemon          Run as a daemon & write PID file.\n  -t | --timeout <secs>  Exit after timeout period.\n  -f | --config <file>   Configuration file.\n  -V | --version         Display version information.\n  -p | --pid-file <file> Change name of PID file.\n\nlibvirt {what} management daemon:\n\n  Default paths:\n\n    Configuration file (unless overridden by -f):\n      {}\n\n    Sockets:\n      {}\n\n    PID file (unless overridden by -p):\n      {}\n\n",
            paths.config_file.display(),
            paths.sock.display(),
            paths.pid_file.display(),
        );
    }
    let listen = if spec.has_listen_flag {
        "    -l | --listen          Listen for TCP/IP connections.\n"
    } else {
        ""
    };
    format!(
        "\nUsage:\n  {argv0} [options]\n\nOptions:\n    -h | --help            Display program help.\n    -v | --verbose         Verbose messages.\n    -d | --daemon          Run as a daemon & write PID file.\n{listen}    -t | --timeout <secs>  Exit after timeout period.\n    -f | --config <file>   Configuration file.\n    -V | --version         Display version information.\n    -p | --pid-file <file> Change name of PID file.\n\n{} defaults:\n\n  Configuration file (unless overridden by -f):\n    {}\n\n  Sockets:\n    {}\n{}    {}\n\n  PID file (unless overridden by -p):\n    {}\n\n",
        if paths.system { "libvirt management daemon (system mode)" } else { "libvirt management daemon (session mode)" },
        paths.config_file.display(),
        paths.sock.display(),
        paths.sock_ro.as_ref().map(|p| format!("    {}\n", p.display())).unwrap_or_default(),
        paths.admin_sock.display(),
        paths.pid_file.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libvirt_flags_parse() {
        let c = Cli::try_parse_from([
            "libvirtd", "-f", "/x.conf", "-p", "/x.pid", "-t", "30", "-l", "-v",
        ])
        .unwrap();
        assert_eq!(c.config.as_deref(), Some(std::path::Path::new("/x.conf")));
        assert_eq!(c.pid_file.as_deref(), Some(std::path::Path::new("/x.pid")));
        assert_eq!(c.timeout.as_deref(), Some("30"));
        assert!(c.listen && c.verbose && !c.daemon);
        let c = Cli::try_parse_from(["libvirtd", "--timeout=120", "--daemon"]).unwrap();
        assert_eq!(c.timeout.as_deref(), Some("120"));
        assert!(Cli::try_parse_from(["libvirtd", "stray"]).is_err());
        assert!(Cli::try_parse_from(["libvirtd", "--bogus"]).is_err());
    }

    #[test]
    fn timeout_bounds() {
        assert_eq!(parse_timeout("0"), Some(0));
        assert_eq!(parse_timeout("2147483"), Some(2_147_483));
        assert_eq!(parse_timeout("2147484"), None);
        assert_eq!(parse_timeout("-1"), None);
        assert_eq!(parse_timeout("12s"), None);
    }
}

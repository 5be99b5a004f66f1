//! libvirt's daemon exit codes (`virDaemonErr`): the value `main` returns.

/// Why the daemon stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ExitCode {
    Ok = 0,
    /// Also used for config and command-line errors (EXIT_FAILURE).
    Pidfile = 1,
    Rundir = 2,
    Init = 3,
    Signal = 4,
    Privileges = 5,
    Network = 6,
    Config = 7,
    Hooks = 8,
    Reexec = 9,
    Audit = 10,
    Driver = 11,
}

/// EXIT_FAILURE, for errors before the daemon machinery (bad options, bad config).
pub const FAILURE: i32 = 1;

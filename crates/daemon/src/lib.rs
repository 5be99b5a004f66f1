//! The shared daemon framework of oxvirt, and the programs its daemons serve.
//!
//! Start-up walkthrough: a binary (`src/bin/libvirtd.rs`) hands its [`family::DaemonSpec`] to
//! [`run::main`], which parses libvirt's command line ([`cli`]), picks system or session mode and
//! the default [`paths`], loads the config (`oxvirt-conf`), sets up [`logging`], optionally
//! forks ([`daemonize`]), takes the [`pidfile`], creates the servers with their programs
//! ([`remote`] on the main server, [`admin`] on the admin server), opens the [`sockets`] and
//! serves until a signal, an admin shutdown or the idle timeout. Exit codes are [`exit`]'s.

pub mod activation;
pub mod admin;
pub mod cli;
pub mod daemonize;
pub mod dispatch;
pub mod exit;
pub mod family;
#[doc(hidden)]
pub mod fuzzing;
pub mod inhibit;
pub mod logging;
pub mod paths;
pub mod pidfile;
pub mod remote;
pub mod restart;
pub mod run;
pub mod sockets;
pub mod support;
mod support_lockd;
mod support_logd;

/// The libvirt version whose protocol and behaviour we implement (9.0.0), as libvirt encodes
/// versions: major * 1,000,000 + minor * 1,000 + micro.
pub const LIB_VERSION: u64 = 9_000_000;

//! The shared start-up and run loop of every daemon of the family.
//!
//! Order (as libvirt's): command line → mode and default paths → config → logging →
//! `--daemon` fork → pid file → run dir → servers and programs → listening sockets →
//! READY=1 → serve until a signal or the idle timeout → close clients, remove sockets and the
//! pid file.

use crate::activation::{self, Activation};
use crate::cli::{self, Cli};
use crate::daemonize::{self, StatusPipe};
use crate::exit::{self, ExitCode};
use crate::family::{DaemonSpec, Role};
use crate::inhibit::{may_stop, Inhibitor};
use crate::logging::{DefaultOutput, Logging};
use crate::paths::{Env, Paths};
use crate::pidfile::PidFile;
use crate::{admin, remote, restart, sockets, support};
use clap::Parser;
use oxvirt_conf::{DaemonConfig, LockdConfig, LogdConfig};
use oxvirt_rpc::{Server, ServerLimits};
use std::sync::Arc;
use std::time::Duration;

/// Run the daemon described by `spec` with the process's arguments; returns the exit code.
pub fn main(spec: &'static DaemonSpec) -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args
        .first()
        .cloned()
        .unwrap_or_else(|| spec.name.to_string());
    let system = nix::unistd::geteuid().is_root();
    let env = Env::from_process();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            eprint!(
                "{}",
                cli::usage(&argv0, spec, &Paths::new(spec, system, &env, None))
            );
            return exit::FAILURE;
        }
    };
    if cli.help {
        eprint!(
            "{}",
            cli::usage(&argv0, spec, &Paths::new(spec, system, &env, None))
        );
        return 0;
    }
    if cli.version {
        println!(
            "{argv0} (libvirt) 9.0.0 [oxvirt {}]",
            env!("CARGO_PKG_VERSION")
        );
        return 0;
    }
    if cli.listen && !spec.has_listen_flag {
        eprintln!("{argv0}: unrecognized option '--listen'");
        return exit::FAILURE;
    }
    // virtlogd/virtlockd: state left by our own exec-restart comes first (the new process
    // neither daemonises nor looks at activation).
    let restart_found = if spec.role.re_executes() {
        restart::take(&Paths::new(spec, system, &env, None).restart_state)
    } else {
        restart::Found::None
    };
    let restarted = matches!(restart_found, restart::Found::State(_));
    // Activation is read before anything else can start a thread.
    let activation = if restarted {
        Activation::None
    } else {
        match activation::detect() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("{argv0}: error: {e}");
                return ExitCode::Network as i32;
            }
        }
    };
    let timeout = match cli.timeout.as_deref().map(cli::parse_timeout) {
        None => 0,
        Some(Some(t)) => t,
        Some(None) => {
            eprintln!("{argv0}: error: Invalid value for timeout");
            return exit::FAILURE;
        }
    };

    // Config: an explicit -f must exist; the implicit default may be absent.
    let default_paths = Paths::new(spec, system, &env, None);
    let (conf_path, allow_missing) = match &cli.config {
        Some(p) => (p.clone(), false),
        None => (default_paths.config_file.clone(), true),
    };
    let (config, warnings) = match LoadedConfig::load(spec, &conf_path, allow_missing) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{argv0}: error: {}", e.startup_message());
            return exit::FAILURE;
        }
    };

    let log_file = if system {
        std::path::PathBuf::from(format!("/var/log/libvirt/{}.log", spec.name))
    } else {
        let cache = std::env::var("XDG_CACHE_HOME")
            .ok()
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(env.home.clone().unwrap_or_default()).join(".cache")
            });
        cache.join("libvirt").join(format!("{}.log", spec.name))
    };
    let fallback = DefaultOutput::choose(
        cli.daemon,
        std::path::Path::new("/run/systemd/journal/socket"),
        log_file,
    );
    let logging = match Logging::with_default(
        spec.name,
        config.log_level(),
        config.log_filters(),
        config.log_outputs(),
        cli.verbose,
        fallback,
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{argv0}: error: {e}");
            return exit::FAILURE;
        }
    };
    let paths = Paths::new(spec, system, &env, config.unix_sock_dir());
    let mut status = if cli.daemon && !restarted {
        daemonize::daemonize(&argv0)
    } else {
        StatusPipe::none()
    };
    logging.install();
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let restart_state = match restart_found {
        restart::Found::State(v) => Some(v),
        restart::Found::Stale(w) => {
            tracing::warn!("{w}");
            None
        }
        restart::Found::None => None,
    };

    let pid_path = cli
        .pid_file
        .clone()
        .unwrap_or_else(|| paths.pid_file.clone());
    let pidfile = match PidFile::acquire(&pid_path) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("{argv0}: error: {e}");
            status.report(ExitCode::Pidfile as u8);
            return ExitCode::Pidfile as i32;
        }
    };
    if let Err(e) = sockets::make_run_dir(&paths) {
        tracing::error!("Unable to create rundir {}: {e}", paths.run_dir.display());
        status.report(ExitCode::Rundir as u8);
        return ExitCode::Rundir as i32;
    }

    raise_fd_limit();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.runtime_threads())
        .thread_name(spec.name)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("Unable to initialize runtime: {e}");
            status.report(ExitCode::Init as u8);
            return ExitCode::Init as i32;
        }
    };
    let code = match &config {
        LoadedConfig::Remote(config) => {
            let startup = Startup {
                spec,
                cli: &cli,
                config,
                paths: &paths,
                timeout,
                logging,
                activation,
            };
            rt.block_on(serve(startup, &mut status))
        }
        other => {
            let startup = support::Startup {
                spec,
                argv: args.clone(),
                exe: resolve_exe(&argv0),
                config: other.support().expect("a support daemon's config"),
                paths: &paths,
                timeout,
                logging,
                activation,
                restart_state,
            };
            rt.block_on(support::serve(startup, &mut status))
        }
    };
    rt.shutdown_timeout(Duration::from_secs(2));
    drop(pidfile);
    code
}

/// The config file of a daemon, by role.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one value per process
enum LoadedConfig {
    Remote(DaemonConfig),
    Logd(LogdConfig),
    Lockd(LockdConfig),
}

impl LoadedConfig {
    fn load(
        spec: &DaemonSpec,
        path: &std::path::Path,
        allow_missing: bool,
    ) -> Result<(Self, Vec<oxvirt_conf::Warning>), oxvirt_conf::ConfError> {
        Ok(match spec.role {
            Role::Remote => {
                let (c, w) = DaemonConfig::load_file(path, spec.conf_kind(), allow_missing)?;
                (LoadedConfig::Remote(c), w)
            }
            Role::Logd => {
                let (c, w) = LogdConfig::load_file(path, allow_missing)?;
                (LoadedConfig::Logd(c), w)
            }
            Role::Lockd => {
                let (c, w) = LockdConfig::load_file(path, allow_missing)?;
                (LoadedConfig::Lockd(c), w)
            }
        })
    }

    fn log_level(&self) -> u32 {
        match self {
            LoadedConfig::Remote(c) => c.log_level,
            LoadedConfig::Logd(c) => c.log_level,
            LoadedConfig::Lockd(c) => c.log_level,
        }
    }

    fn log_filters(&self) -> Option<&str> {
        match self {
            LoadedConfig::Remote(c) => c.log_filters.as_deref(),
            LoadedConfig::Logd(c) => c.log_filters.as_deref(),
            LoadedConfig::Lockd(c) => c.log_filters.as_deref(),
        }
    }

    fn log_outputs(&self) -> Option<&str> {
        match self {
            LoadedConfig::Remote(c) => c.log_outputs.as_deref(),
            LoadedConfig::Logd(c) => c.log_outputs.as_deref(),
            LoadedConfig::Lockd(c) => c.log_outputs.as_deref(),
        }
    }

    fn unix_sock_dir(&self) -> Option<&str> {
        match self {
            LoadedConfig::Remote(c) => c.unix_sock_dir.as_deref(),
            _ => None,
        }
    }

    /// Runtime worker threads: the remote daemons follow `max_workers`; virtlogd and
    /// virtlockd (no worker pool in libvirt) use two.
    fn runtime_threads(&self) -> usize {
        match self {
            LoadedConfig::Remote(c) => c.max_workers.clamp(1, 4) as usize,
            _ => 2,
        }
    }

    fn support(&self) -> Option<support::SupportConfig> {
        match self {
            LoadedConfig::Remote(_) => None,
            LoadedConfig::Logd(c) => Some(support::SupportConfig::Logd(c.clone())),
            LoadedConfig::Lockd(c) => Some(support::SupportConfig::Lockd(c.clone())),
        }
    }
}

/// The binary to exec on a restart: argv[0] made absolute against the start-up directory
/// (libvirt execs argv[0], so an upgraded binary at the same path is what runs next), or the
/// name looked up in PATH when argv[0] has no slash.
fn resolve_exe(argv0: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(argv0);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    if argv0.contains('/') {
        if let Ok(cwd) = std::env::current_dir() {
            return cwd.join(p);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let cand = dir.join(p);
            if cand.is_file() {
                return cand;
            }
        }
    }
    std::fs::read_link("/proc/self/exe").unwrap_or_else(|_| p.to_path_buf())
}

/// Raise the soft open-files limit to the hard one, as libvirt does: each client is an fd, and
/// the soft default (1024) would cap a daemon far below `max_clients`.
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// Everything start-up decided before the runtime, for [`serve`].
struct Startup<'a> {
    spec: &'static DaemonSpec,
    cli: &'a Cli,
    config: &'a DaemonConfig,
    paths: &'a Paths,
    timeout: u32,
    logging: Logging,
    activation: Activation,
}

async fn serve(startup: Startup<'_>, status: &mut StatusPipe) -> i32 {
    let Startup {
        spec,
        cli,
        config,
        paths,
        timeout,
        logging,
        activation,
    } = startup;
    let limits = ServerLimits {
        max_clients: config.max_clients as usize,
        max_anonymous_clients: config.max_anonymous_clients as usize,
        max_client_requests: config.max_client_requests as usize,
        keepalive_interval: config.keepalive_interval,
        keepalive_count: config.keepalive_count,
        min_workers: config.min_workers,
        max_workers: config.max_workers,
        prio_workers: config.prio_workers,
    };
    let main_server = Server::new(spec.name, limits, remote::programs(spec));
    let admin_limits = ServerLimits {
        max_clients: config.admin_max_clients as usize,
        max_anonymous_clients: 0,
        max_client_requests: config.admin_max_client_requests as usize,
        keepalive_interval: config.admin_keepalive_interval,
        keepalive_count: config.admin_keepalive_count,
        min_workers: config.admin_min_workers,
        max_workers: config.admin_max_workers,
        prio_workers: 0,
    };
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let admin_state = admin::AdminState::new(logging, shutdown.clone(), timeout);
    let admin_server = Server::new(
        "admin",
        admin_limits,
        vec![admin::program(admin_state.clone())],
    );
    admin_state.set_servers(vec![main_server.clone(), admin_server.clone()]);

    if let Activation::InetdConnection(fd) = activation {
        status.report(0);
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
        let auth = sockets::connection_auth_none(config, oxvirt_rpc::service::is_ip_fd(&fd));
        if let Err(e) = oxvirt_rpc::service::serve_connection(main_server, fd, false, auth).await {
            tracing::error!("Unable to serve the connection on stdin: {e}");
            return ExitCode::Network as i32;
        }
        return ExitCode::Ok as i32;
    }
    let _ = sd_notify::notify(
        false,
        &[sd_notify::NotifyState::Status("Starting: opening sockets")],
    );
    let services = match sockets::open(
        spec,
        cli,
        config,
        paths,
        &main_server,
        &admin_server,
        activation,
    ) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("{e}");
            status.report(ExitCode::Network as u8);
            return ExitCode::Network as i32;
        }
    };
    status.report(0);
    let ready = format!("Ready: serving {} socket(s)", services.len());
    let _ = sd_notify::notify(
        false,
        &[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(&ready),
        ],
    );
    tracing::info!("{}: {ready}", spec.name);

    // Drivers inhibit the idle timeout while they have work (running domains); the test driver
    // keeps no such state, so today only connected clients keep the daemon up.
    let inhibitor = Inhibitor::default();
    let servers = [main_server.clone(), admin_server.clone()];
    let reason = wait_for_stop(&servers, &admin_state, &shutdown, &inhibitor).await;
    tracing::info!("{}: {reason}; shutting down", spec.name);
    let stopping = format!("Stopping: {reason}");
    let _ = sd_notify::notify(
        false,
        &[
            sd_notify::NotifyState::Stopping,
            sd_notify::NotifyState::Status(&stopping),
        ],
    );
    for s in services {
        s.close().await; // the listener is dropped (socket file removed) here
    }
    main_server.close_all();
    admin_server.close_all();
    // Let in-flight replies drain, within a bound.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline
        && (main_server.counts().0 > 0 || admin_server.counts().0 > 0)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ExitCode::Ok as i32
}

/// Wait for SIGINT/SIGQUIT/SIGTERM, an admin shutdown, or the idle timeout.
async fn wait_for_stop(
    servers: &[Arc<Server>],
    admin_state: &Arc<admin::AdminState>,
    shutdown: &tokio::sync::Notify,
    inhibitor: &Inhibitor,
) -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("signal handler");
    let mut int = signal(SignalKind::interrupt()).expect("signal handler");
    let mut quit = signal(SignalKind::quit()).expect("signal handler");
    let mut hup = signal(SignalKind::hangup()).expect("signal handler");
    let mut main_count = servers[0].watch_count();
    let mut admin_count = servers[1].watch_count();
    let mut idle_since = tokio::time::Instant::now();
    let mut was_stoppable = false;
    loop {
        let timeout = admin_state.timeout();
        let clients: usize = servers.iter().map(|s| s.counts().0).sum();
        let stoppable = may_stop(timeout, clients, inhibitor.held());
        // The countdown restarts in full each time the daemon becomes idle.
        if stoppable && !was_stoppable {
            idle_since = tokio::time::Instant::now();
        }
        was_stoppable = stoppable;
        let idle_deadline = stoppable.then(|| idle_since + Duration::from_secs(timeout as u64));
        let idle = async {
            match idle_deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => return "SIGTERM",
            _ = int.recv() => return "SIGINT",
            _ = quit.recv() => return "SIGQUIT",
            _ = hup.recv() => {
                tracing::info!("SIGHUP: nothing to reload for the test driver");
            }
            _ = shutdown.notified() => return "shutdown requested",
            _ = idle => return "idle timeout",
            _ = main_count.changed() => {}
            _ = admin_count.changed() => {}
            _ = admin_state.timeout_changed() => {}
            _ = inhibitor.changed() => {}
        }
    }
}

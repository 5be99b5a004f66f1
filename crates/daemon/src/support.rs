//! virtlogd and virtlockd: the hypervisor drivers' support daemons, on the shared framework.
//!
//! [`crate::run::main`] does the common start-up (command line, config, logging, pid file) and
//! hands over to [`serve`], which builds the role's core ([`oxvirt_logd`]'s log handler or
//! [`oxvirt_lockd`]'s lockspaces), the main server (the core's program, one request in flight
//! per client, no keepalive, as libvirt) and the `admin` server, opens or adopts the sockets
//! (`<name>-sock`, `<name>-admin-sock`, 0700, only our own uid may connect) and serves until a
//! signal or the idle timeout. SIGUSR1 is a live upgrade: everything is handed to
//! [`crate::restart`] and the binary re-executes itself; if the exec fails, the same saved
//! state is restored in this process and it carries on.

use crate::activation::{Activation, ActivationError};
use crate::admin;
use crate::daemonize::StatusPipe;
use crate::exit::ExitCode;
use crate::family::DaemonSpec;
use crate::inhibit::may_stop;
use crate::logging::Logging;
use crate::paths::Paths;
use crate::restart::{self, RestartError};
use crate::sockets::SocketError;
use oxvirt_conf::{LockdConfig, LogdConfig};
use oxvirt_rpc::service::{bind_unix, listener_from_fd, PeerPolicy};
use oxvirt_rpc::{Program, Server, ServerLimits, Service, ServiceHandle};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The config of a support daemon.
#[derive(Debug, Clone)]
pub enum SupportConfig {
    Logd(LogdConfig),
    Lockd(LockdConfig),
}

impl SupportConfig {
    fn max_clients(&self) -> u32 {
        match self {
            SupportConfig::Logd(c) => c.max_clients,
            SupportConfig::Lockd(c) => c.max_clients,
        }
    }

    fn admin_max_clients(&self) -> u32 {
        match self {
            SupportConfig::Logd(c) => c.admin_max_clients,
            SupportConfig::Lockd(c) => c.admin_max_clients,
        }
    }
}

/// The role-specific part of a support daemon.
pub trait Core: Send + Sync {
    /// The program of the main server.
    fn program(&self) -> Arc<dyn Program>;
    /// How many things keep the daemon from idling out besides clients (open guest logs,
    /// held leases).
    fn busy(&self) -> watch::Receiver<usize>;
    /// Stop, and describe the state as top-level keys of the restart file. The fds named
    /// there are left open and inheritable for the exec.
    fn save_for_exec(&self) -> Map<String, Value>;
}

/// Build the core, fresh or from saved state.
fn make_core(config: &SupportConfig, saved: Option<&Value>) -> Result<Arc<dyn Core>, String> {
    match config {
        SupportConfig::Logd(c) => crate::support_logd::make(c, saved),
        SupportConfig::Lockd(_) => crate::support_lockd::make(saved),
    }
}

/// Everything start-up decided, for [`serve`].
pub struct Startup<'a> {
    pub spec: &'static DaemonSpec,
    /// The command line, to exec again on a restart.
    pub argv: Vec<String>,
    /// The binary to exec on a restart.
    pub exe: PathBuf,
    pub config: SupportConfig,
    pub paths: &'a Paths,
    pub timeout: u32,
    pub logging: Logging,
    pub activation: Activation,
    /// State left by our own exec-restart.
    pub restart_state: Option<Value>,
}

/// A running support daemon.
struct Running {
    core: Arc<dyn Core>,
    main: Arc<Server>,
    admin: Arc<Server>,
    admin_state: Arc<admin::AdminState>,
    main_services: Vec<ServiceHandle>,
    admin_services: Vec<ServiceHandle>,
}

fn limits(max_clients: u32) -> ServerLimits {
    ServerLimits {
        max_clients: max_clients as usize,
        max_anonymous_clients: max_clients as usize,
        max_client_requests: 1,
        keepalive_interval: -1,
        keepalive_count: 0,
        min_workers: 0,
        max_workers: 0,
        prio_workers: 0,
    }
}

/// Build core, servers and services, from the saved state or from the sockets.
fn build(
    st: &Startup<'_>,
    shutdown: &Arc<Notify>,
    timeout: u32,
    saved: Option<&Value>,
    activation: Activation,
) -> Result<Running, (ExitCode, String)> {
    let core = make_core(&st.config, saved).map_err(|e| (ExitCode::Init, e))?;
    let name = st.spec.name;
    let admin_state = admin::AdminState::new(st.logging.clone(), shutdown.clone(), timeout);
    let (main_limits, admin_limits, saved_servers) = match saved {
        None => (
            limits(st.config.max_clients()),
            limits(st.config.admin_max_clients()),
            None,
        ),
        Some(state) => {
            let servers =
                restart::servers_of(state, name).map_err(|e| (ExitCode::Init, e.to_string()))?;
            let l = |n: &str, base: ServerLimits| {
                servers.get(n).map_or(base, |s| restart::limits_of(s, base))
            };
            (
                l(name, limits(st.config.max_clients())),
                l("admin", limits(st.config.admin_max_clients())),
                Some(servers),
            )
        }
    };
    let main = Server::new(name, main_limits, vec![core.program()]);
    let admin = Server::new(
        "admin",
        admin_limits,
        vec![admin::program(admin_state.clone())],
    );
    admin_state.set_servers(vec![main.clone(), admin.clone()]);
    let peers = PeerPolicy::Uid(nix::unistd::geteuid().as_raw());

    let (main_services, admin_services) = match saved_servers {
        Some(servers) => {
            let mut claimed = HashSet::new();
            let mut restore = |server: &Arc<Server>| -> Result<Vec<ServiceHandle>, RestartError> {
                match servers.get(&server.name) {
                    // An older daemon without this server: it appears at the next real start.
                    None => Ok(Vec::new()),
                    Some(s) => Ok(restart::restore_server(server, s, peers, &mut claimed)?
                        .into_iter()
                        .map(|svc| svc.spawn(server.clone()))
                        .collect()),
                }
            };
            let m = restore(&main).map_err(|e| (ExitCode::Init, e.to_string()))?;
            let a = restore(&admin).map_err(|e| (ExitCode::Init, e.to_string()))?;
            (m, a)
        }
        None => open_sockets(st.spec, st.paths, activation, &main, &admin, peers)
            .map_err(|e| (ExitCode::Network, e.to_string()))?,
    };
    Ok(Running {
        core,
        main,
        admin,
        admin_state,
        main_services,
        admin_services,
    })
}

/// The sockets of a fresh start: activated (`<name>.socket`, `<name>-admin.socket`), a
/// listening socket on stdin (inetd style, the main socket), or our own.
fn open_sockets(
    spec: &DaemonSpec,
    paths: &Paths,
    activation: Activation,
    main: &Arc<Server>,
    admin: &Arc<Server>,
    peers: PeerPolicy,
) -> Result<(Vec<ServiceHandle>, Vec<ServiceHandle>), SocketError> {
    let service = |listener| Service {
        listener,
        readonly: false,
        auth_none: true,
        peers,
    };
    let (mut m, mut a) = (Vec::new(), Vec::new());
    match activation {
        Activation::Systemd(fds) => {
            let (rw, adm) = (
                format!("{}.socket", spec.name),
                format!("{}-admin.socket", spec.name),
            );
            let mut unclaimed: Vec<&str> = fds
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| *n != rw && *n != adm)
                .collect();
            if !unclaimed.is_empty() {
                unclaimed.dedup();
                return Err(ActivationError::Unclaimed(unclaimed.join(", ")).into());
            }
            for (name, fd) in fds {
                let l =
                    listener_from_fd(fd, 0).map_err(|e| SocketError::Inherited(name.clone(), e))?;
                if name == rw {
                    m.push(service(l).spawn(main.clone()));
                } else {
                    a.push(service(l).spawn(admin.clone()));
                }
            }
        }
        Activation::InetdListener(fd) => {
            let l =
                listener_from_fd(fd, 0).map_err(|e| SocketError::Inherited("stdin".into(), e))?;
            m.push(service(l).spawn(main.clone()));
        }
        Activation::InetdConnection(_) => unreachable!("served by serve()"),
        Activation::None => {
            let unix = |p: &std::path::Path| {
                bind_unix(p, 0o700, None, 0)
                    .map_err(|e| SocketError::Unix(p.display().to_string(), e))
            };
            let l = unix(&paths.sock)?;
            let al = unix(&paths.admin_sock)?;
            m.push(service(l).spawn(main.clone()));
            a.push(service(al).spawn(admin.clone()));
        }
    }
    Ok((m, a))
}

/// Why the wait ended.
enum Wake {
    Stop(&'static str),
    Restart,
}

/// Serve until a stop; SIGUSR1 re-executes. Returns the exit code.
pub async fn serve(mut st: Startup<'_>, status: &mut StatusPipe) -> i32 {
    let shutdown = Arc::new(Notify::new());
    let activation = std::mem::replace(&mut st.activation, Activation::None);
    let saved = st.restart_state.take();
    let restarted = saved.is_some();

    if let Activation::InetdConnection(fd) = activation {
        // One client on stdin: serve it, then exit (its logs and leases end with it).
        let run = match build(&st, &shutdown, st.timeout, None, Activation::None) {
            Ok(r) => r,
            Err((code, e)) => {
                tracing::error!("{e}");
                status.report(code as u8);
                return code as i32;
            }
        };
        status.report(0);
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
        let r = oxvirt_rpc::service::serve_connection(run.main.clone(), fd, false, true).await;
        return if r.is_ok() {
            0
        } else {
            ExitCode::Network as i32
        };
    }

    let mut run = match build(&st, &shutdown, st.timeout, saved.as_ref(), activation) {
        Ok(r) => r,
        Err((code, e)) => {
            tracing::error!("{e}");
            status.report(code as u8);
            return code as i32;
        }
    };
    status.report(0);
    if restarted {
        tracing::info!(
            "{}: restarted in place; {} client(s) kept",
            st.spec.name,
            run.main.counts().0 + run.admin.counts().0
        );
    }
    let _ = sd_notify::notify(
        false,
        &[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status("Ready"),
        ],
    );

    loop {
        match wait(&run, &shutdown).await {
            Wake::Stop(reason) => {
                tracing::info!("{}: {reason}; shutting down", st.spec.name);
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
                for s in run
                    .main_services
                    .drain(..)
                    .chain(run.admin_services.drain(..))
                {
                    s.close().await;
                }
                run.main.close_all();
                run.admin.close_all();
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                while tokio::time::Instant::now() < deadline
                    && (run.main.counts().0 > 0 || run.admin.counts().0 > 0)
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                return ExitCode::Ok as i32;
            }
            Wake::Restart => {
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Reloading]);
                match exec_restart(&st, run, &shutdown).await {
                    // exec replaced the process on success; we are here only if it failed.
                    Ok(r) => run = r,
                    Err((code, e)) => {
                        tracing::error!("{e}");
                        return code as i32;
                    }
                }
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
            }
        }
    }
}

/// Save everything and exec; on failure rebuild from the saved state and carry on.
async fn exec_restart(
    st: &Startup<'_>,
    run: Running,
    shutdown: &Arc<Notify>,
) -> Result<Running, (ExitCode, String)> {
    tracing::info!(
        "{}: SIGUSR1: re-executing {}",
        st.spec.name,
        st.exe.display()
    );
    let Running {
        core,
        main,
        admin,
        admin_state,
        main_services,
        admin_services,
    } = run;
    let timeout = admin_state.timeout();
    let mut keep = Vec::new();
    let mut servers = Map::new();
    for (server, handles) in [(&main, main_services), (&admin, admin_services)] {
        let saved = restart::save_server(server, handles, &mut keep).await;
        servers.insert(
            server.name.clone(),
            serde_json::to_value(saved).unwrap_or(Value::Null),
        );
    }
    let mut state = core.save_for_exec();
    drop(core);
    state.insert("daemon".into(), serde_json::json!({ "servers": servers }));
    state.insert(
        "magic".into(),
        Value::String(std::process::id().to_string()),
    );
    let state = Value::Object(state);
    let exe = CString::new(st.exe.as_os_str().as_encoded_bytes()).unwrap_or_default();
    let args: Vec<CString> = st
        .argv
        .iter()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    // A SIGUSR1 that arrives before the new process has its handler must not kill it:
    // ignored dispositions survive exec, handlers do not.
    ignore_sigusr1();
    let (err, keep) = restart::exec(&st.paths.restart_state, &state, keep, &exe, &args);
    tracing::error!("exec-restart failed: {err}; carrying on in this process");
    restart::release(keep);
    build(st, shutdown, timeout, Some(&state), Activation::None)
}

/// Wait for a signal, an admin shutdown, or the idle timeout (no client and nothing busy).
async fn wait(run: &Running, shutdown: &Notify) -> Wake {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("signal handler");
    let mut int = signal(SignalKind::interrupt()).expect("signal handler");
    let mut quit = signal(SignalKind::quit()).expect("signal handler");
    let mut usr1 = signal(SignalKind::user_defined1()).expect("signal handler");
    let mut hup = signal(SignalKind::hangup()).expect("signal handler");
    let mut main_count = run.main.watch_count();
    let mut admin_count = run.admin.watch_count();
    let mut busy = run.core.busy();
    let mut idle_since = tokio::time::Instant::now();
    let mut was_stoppable = false;
    loop {
        let timeout = run.admin_state.timeout();
        let clients = run.main.counts().0 + run.admin.counts().0;
        let stoppable = may_stop(timeout, clients, *busy.borrow_and_update());
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
            _ = term.recv() => return Wake::Stop("SIGTERM"),
            _ = int.recv() => return Wake::Stop("SIGINT"),
            _ = quit.recv() => return Wake::Stop("SIGQUIT"),
            _ = usr1.recv() => return Wake::Restart,
            _ = hup.recv() => tracing::info!("SIGHUP ignored (SIGUSR1 re-executes the daemon)"),
            _ = shutdown.notified() => return Wake::Stop("shutdown requested"),
            _ = idle => return Wake::Stop("idle timeout"),
            _ = main_count.changed() => {}
            _ = admin_count.changed() => {}
            _ = busy.changed() => {}
            _ = run.admin_state.timeout_changed() => {}
        }
    }
}

/// Ignore SIGUSR1 until the runtime installs its handler (which replaces this).
pub fn ignore_sigusr1() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: SIG_IGN installs no code of ours; it is async-signal-safe by construction.
    let _ = unsafe { signal(Signal::SIGUSR1, SigHandler::SigIgn) };
}

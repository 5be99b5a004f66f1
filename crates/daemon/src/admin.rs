//! The ADMIN program (0x06900690) on the admin socket: list servers and clients, inspect and
//! drop clients, tune limits and worker settings, change logging and the idle timeout at run
//! time. It talks to the daemon's [`Server`]s and [`Logging`]; nothing else.

use crate::dispatch::{call, check_flags, unknown_procedure};
use crate::logging::Logging;
use oxvirt_proto::admin::{self as a, procs as p};
use oxvirt_proto::typed_param::{TypedParam, TypedValue};
use oxvirt_proto::Header;
use oxvirt_rpc::program::{Dispatched, Program, Reply};
use oxvirt_rpc::{Client, Server};
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;

/// What the admin program can see and change.
#[derive(Debug)]
pub struct AdminState {
    logging: Logging,
    shutdown: Arc<Notify>,
    timeout: AtomicU32,
    timeout_changed: Notify,
    servers: OnceLock<Vec<Arc<Server>>>,
}

impl AdminState {
    /// New state; servers are set once they exist.
    pub fn new(logging: Logging, shutdown: Arc<Notify>, timeout: u32) -> Arc<Self> {
        Arc::new(AdminState {
            logging,
            shutdown,
            timeout: AtomicU32::new(timeout),
            timeout_changed: Notify::new(),
            servers: OnceLock::new(),
        })
    }

    /// The daemon's servers (listed by name, as libvirt lists them).
    pub fn set_servers(&self, mut servers: Vec<Arc<Server>>) {
        // libvirt lists servers sorted by name.
        servers.sort_by(|a, b| a.name.cmp(&b.name));
        let _ = self.servers.set(servers);
    }

    /// Current idle timeout in seconds (0 = none).
    pub fn timeout(&self) -> u32 {
        self.timeout.load(Ordering::Relaxed)
    }

    /// Resolves when the idle timeout was changed.
    pub async fn timeout_changed(&self) {
        self.timeout_changed.notified().await
    }

    fn servers(&self) -> &[Arc<Server>] {
        self.servers.get().map(Vec::as_slice).unwrap_or(&[])
    }

    fn server(&self, name: &str) -> Result<Arc<Server>, VirError> {
        self.servers()
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| {
                VirError::with_detail(
                    ErrorCode::NoServer,
                    ErrorDomain::Rpc,
                    "Server not found",
                    format!("No server named '{name}'"),
                )
            })
    }

    fn client(&self, srv: &str, id: u64) -> Result<Arc<Client>, VirError> {
        self.server(srv)?.client(id).ok_or_else(|| {
            VirError::with_detail(
                ErrorCode::NoClient,
                ErrorDomain::Rpc,
                "Client not found",
                format!("No client with matching ID '{id}'"),
            )
        })
    }
}

/// The ADMIN program over `state`.
pub fn program(state: Arc<AdminState>) -> Arc<dyn Program> {
    Arc::new(AdminProgram { state })
}

struct AdminProgram {
    state: Arc<AdminState>,
}

fn nonnull_client(c: &Client) -> a::Client {
    a::Client {
        srv: a::Server {
            name: c.server_name.clone(),
        },
        id: c.id,
        timestamp: c.connected_at,
        transport: c.transport,
    }
}

fn unsupported_param(name: &str) -> VirError {
    VirError::with_detail(
        ErrorCode::ArgumentUnsupported,
        ErrorDomain::None,
        "argument unsupported",
        format!("parameter '{name}' not supported"),
    )
}

fn uint_param(p: &TypedParam) -> Result<u32, VirError> {
    match p.value {
        TypedValue::UInt(v) => Ok(v),
        _ => Err(VirError::with_detail(
            ErrorCode::InvalidArg,
            ErrorDomain::None,
            "invalid argument",
            format!("invalid type for parameter {}", p.field),
        )),
    }
}

fn client_info(c: &Client) -> Vec<TypedParam> {
    let mut v = vec![TypedParam::new(
        "readonly",
        TypedValue::Boolean(c.is_readonly()),
    )];
    if let Some(addr) = c.identity.sock_addr {
        v.push(TypedParam::new(
            "sock_addr",
            TypedValue::String(addr.to_string()),
        ));
    }
    if let Some(uid) = c.identity.uid {
        v.push(TypedParam::new("unix_user_id", TypedValue::Int(uid as i32)));
        let name = nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .map(|u| u.name);
        v.push(TypedParam::new(
            "unix_user_name",
            TypedValue::String(name.unwrap_or_else(|| uid.to_string())),
        ));
    }
    if let Some(gid) = c.identity.gid {
        v.push(TypedParam::new(
            "unix_group_id",
            TypedValue::Int(gid as i32),
        ));
        let name = nix::unistd::Group::from_gid(gid.into())
            .ok()
            .flatten()
            .map(|g| g.name);
        v.push(TypedParam::new(
            "unix_group_name",
            TypedValue::String(name.unwrap_or_else(|| gid.to_string())),
        ));
    }
    if let Some(pid) = c.identity.pid {
        v.push(TypedParam::new("unix_process_id", TypedValue::Int(pid)));
    }
    v
}

impl AdminProgram {
    fn handle(&self, client: &Arc<Client>, h: &Header, body: &[u8]) -> Reply {
        let st = &self.state;
        let admin = ErrorDomain::Admin;
        match h.proc_ {
            p::CONNECT_OPEN => call(h, body, |x: a::FlagsArgs| {
                check_flags(x.flags, 0, admin, "adminConnectOpen")?;
                client.set_authenticated();
                Ok(())
            }),
            p::CONNECT_CLOSE => match call(h, body, |_: ()| Ok(())) {
                Reply::Frame(f) => Reply::CloseAfter(f),
                r => r,
            },
            p::CONNECT_GET_LIB_VERSION => call(h, body, |_: ()| {
                Ok(a::LibVersionRet {
                    lib_ver: crate::LIB_VERSION,
                })
            }),
            p::CONNECT_LIST_SERVERS => call(h, body, |x: a::ListServersArgs| {
                check_flags(x.flags, 0, admin, "adminConnectListServers")?;
                let all: Vec<a::Server> = st
                    .servers()
                    .iter()
                    .map(|s| a::Server {
                        name: s.name.clone(),
                    })
                    .collect();
                let n = all.len() as u32;
                Ok(a::ListServersRet {
                    servers: if x.need_results != 0 { all } else { vec![] },
                    ret: n,
                })
            }),
            p::CONNECT_LOOKUP_SERVER => call(h, body, |x: a::LookupServerArgs| {
                check_flags(x.flags, 0, admin, "adminConnectLookupServer")?;
                Ok(a::ServerRet {
                    srv: a::Server {
                        name: st.server(&x.name)?.name.clone(),
                    },
                })
            }),
            p::SERVER_GET_THREADPOOL_PARAMETERS => call(h, body, |x: a::ServerFlagsArgs| {
                check_flags(x.flags, 0, admin, "adminServerGetThreadPoolParameters")?;
                let l = st.server(&x.srv.name)?.limits();
                let m = tokio::runtime::Handle::current().metrics();
                let n = m.num_workers() as u32;
                let depth = m.global_queue_depth() as u32;
                Ok(a::ParamsRet {
                    params: vec![
                        TypedParam::new("minWorkers", TypedValue::UInt(l.min_workers)),
                        TypedParam::new("maxWorkers", TypedValue::UInt(l.max_workers)),
                        TypedParam::new("nWorkers", TypedValue::UInt(n)),
                        TypedParam::new(
                            "freeWorkers",
                            TypedValue::UInt(n.saturating_sub(depth.min(n))),
                        ),
                        TypedParam::new("prioWorkers", TypedValue::UInt(l.prio_workers)),
                        TypedParam::new("jobQueueDepth", TypedValue::UInt(depth)),
                    ],
                })
            }),
            p::SERVER_SET_THREADPOOL_PARAMETERS => call(h, body, |x: a::ServerSetParamsArgs| {
                check_flags(x.flags, 0, admin, "adminServerSetThreadPoolParameters")?;
                let srv = st.server(&x.srv.name)?;
                let mut l = srv.limits();
                for prm in &x.params {
                    match prm.field.as_str() {
                        "minWorkers" => l.min_workers = uint_param(prm)?,
                        "maxWorkers" => l.max_workers = uint_param(prm)?,
                        "prioWorkers" => l.prio_workers = uint_param(prm)?,
                        other => return Err(unsupported_param(other)),
                    }
                }
                if l.max_workers == 0 || l.min_workers > l.max_workers {
                    return Err(VirError::with_detail(
                        ErrorCode::InvalidArg,
                        ErrorDomain::None,
                        "invalid argument",
                        "minWorkers must be at most maxWorkers, and maxWorkers at least 1",
                    ));
                }
                srv.set_limits(l);
                Ok(())
            }),
            p::SERVER_LIST_CLIENTS => call(h, body, |x: a::ListClientsArgs| {
                check_flags(x.flags, 0, admin, "adminServerListClients")?;
                let cl = st.server(&x.srv.name)?.clients();
                let n = cl.len() as u32;
                let clients = if x.need_results != 0 {
                    cl.iter().map(|c| nonnull_client(c)).collect()
                } else {
                    vec![]
                };
                Ok(a::ListClientsRet { clients, ret: n })
            }),
            p::SERVER_LOOKUP_CLIENT => call(h, body, |x: a::LookupClientArgs| {
                check_flags(x.flags, 0, admin, "adminServerLookupClient")?;
                Ok(a::ClientRet {
                    clnt: nonnull_client(st.client(&x.srv.name, x.id)?.as_ref()),
                })
            }),
            p::CLIENT_GET_INFO => call(h, body, |x: a::ClientFlagsArgs| {
                check_flags(x.flags, 0, admin, "adminClientGetInfo")?;
                Ok(a::ParamsRet {
                    params: client_info(st.client(&x.clnt.srv.name, x.clnt.id)?.as_ref()),
                })
            }),
            p::CLIENT_CLOSE => call(h, body, |x: a::ClientFlagsArgs| {
                check_flags(x.flags, 0, admin, "adminClientClose")?;
                st.client(&x.clnt.srv.name, x.clnt.id)?.close();
                Ok(())
            }),
            p::SERVER_GET_CLIENT_LIMITS => call(h, body, |x: a::ServerFlagsArgs| {
                check_flags(x.flags, 0, admin, "adminServerGetClientLimits")?;
                let srv = st.server(&x.srv.name)?;
                let l = srv.limits();
                let (n, unauth) = srv.counts();
                Ok(a::ParamsRet {
                    params: vec![
                        TypedParam::new("nclients_max", TypedValue::UInt(l.max_clients as u32)),
                        TypedParam::new("nclients", TypedValue::UInt(n as u32)),
                        TypedParam::new(
                            "nclients_unauth_max",
                            TypedValue::UInt(l.max_anonymous_clients as u32),
                        ),
                        TypedParam::new("nclients_unauth", TypedValue::UInt(unauth as u32)),
                    ],
                })
            }),
            p::SERVER_SET_CLIENT_LIMITS => call(h, body, |x: a::ServerSetParamsArgs| {
                check_flags(x.flags, 0, admin, "adminServerSetClientLimits")?;
                let srv = st.server(&x.srv.name)?;
                let mut l = srv.limits();
                for prm in &x.params {
                    match prm.field.as_str() {
                        "nclients_max" => l.max_clients = uint_param(prm)? as usize,
                        "nclients_unauth_max" => {
                            l.max_anonymous_clients = uint_param(prm)? as usize
                        }
                        other => return Err(unsupported_param(other)),
                    }
                }
                if l.max_anonymous_clients > l.max_clients {
                    return Err(VirError::with_detail(
                        ErrorCode::InvalidArg,
                        ErrorDomain::None,
                        "invalid argument",
                        "The overall maximum number of clients must be greater than the maximum number of clients waiting for authentication",
                    ));
                }
                srv.set_limits(l);
                Ok(())
            }),
            p::CONNECT_GET_LOGGING_OUTPUTS => call(h, body, |x: a::FlagsArgs| {
                check_flags(x.flags, 0, admin, "adminConnectGetLoggingOutputs")?;
                let (outputs, noutputs) = st.logging.outputs();
                Ok(a::LoggingOutputsRet { outputs, noutputs })
            }),
            p::CONNECT_GET_LOGGING_FILTERS => call(h, body, |x: a::FlagsArgs| {
                check_flags(x.flags, 0, admin, "adminConnectGetLoggingFilters")?;
                let (f, n) = st.logging.filters();
                Ok(a::LoggingFiltersRet {
                    filters: (n > 0).then_some(f),
                    nfilters: n,
                })
            }),
            p::CONNECT_SET_LOGGING_OUTPUTS => call(h, body, |x: a::SetLoggingArgs| {
                check_flags(x.flags, 0, admin, "adminConnectSetLoggingOutputs")?;
                st.logging
                    .set_outputs(x.value.as_deref().unwrap_or(""))
                    .map_err(|e| {
                        VirError::bare(ErrorCode::InvalidArg, ErrorDomain::None, e.to_string())
                    })
            }),
            p::CONNECT_SET_LOGGING_FILTERS => call(h, body, |x: a::SetLoggingArgs| {
                check_flags(x.flags, 0, admin, "adminConnectSetLoggingFilters")?;
                st.logging
                    .set_filters(x.value.as_deref().unwrap_or(""))
                    .map_err(|e| {
                        VirError::bare(ErrorCode::InvalidArg, ErrorDomain::None, e.to_string())
                    })
            }),
            p::SERVER_UPDATE_TLS_FILES => {
                call(h, body, |x: a::ServerFlagsArgs| -> Result<(), VirError> {
                    st.server(&x.srv.name)?;
                    Err(VirError::internal(
                        ErrorDomain::Rpc,
                        "no tls service found, unable to update tls files",
                    ))
                })
            }
            p::CONNECT_SET_DAEMON_TIMEOUT => call(h, body, |x: a::SetDaemonTimeoutArgs| {
                check_flags(x.flags, 0, admin, "adminConnectSetDaemonTimeout")?;
                st.timeout.store(x.timeout, Ordering::Relaxed);
                st.timeout_changed.notify_waiters();
                Ok(())
            }),
            p::CONNECT_DAEMON_SHUTDOWN => call(h, body, |x: a::FlagsArgs| {
                check_flags(x.flags, 1, admin, "adminConnectDaemonShutdown")?;
                // Shut down only after this reply has had time to reach the caller, so the
                // client sees success rather than an EOF in place of its reply.
                // (A plain thread: it needs no runtime, timers or otherwise, and runs once.)
                let shutdown = st.shutdown.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    shutdown.notify_one();
                });
                Ok(())
            }),
            other => Reply::Frame(oxvirt_rpc::frame::reply_err(h, &unknown_procedure(other))),
        }
    }
}

impl Program for AdminProgram {
    fn number(&self) -> u32 {
        a::PROGRAM
    }
    fn version(&self) -> u32 {
        a::VERSION
    }
    fn dispatch(
        &self,
        client: &Arc<Client>,
        h: &Header,
        body: &[u8],
        _fds: Vec<OwnedFd>,
    ) -> Dispatched {
        Dispatched::Now(self.handle(client, h, body))
    }
}

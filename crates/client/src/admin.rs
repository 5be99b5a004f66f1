//! The admin client: what `virt-admin` does, over a daemon's admin socket.
//!
//! Who talks to whom: [`AdminConnection`] connects to `<daemon>-admin-sock` of a libvirt daemon
//! (libvirtd, a modular daemon, virtlogd, virtlockd; ours or libvirt's), runs the ADMIN
//! program's handshake (`ADMIN_PROC_CONNECT_OPEN`, flags 0, no authentication: the daemon
//! accepts only its own uid on that socket) and then typed calls: servers, their thread pools
//! and client limits, clients (list, info, disconnect), logging outputs and filters, the idle
//! timeout and shutdown. The calls share the REMOTE client's async core ([`Connection`]), so
//! many may be in flight at once.
//!
//! Which socket (as `virt-admin` chooses it, [`socket_path`]): the URI's scheme names the
//! daemon, `libvirtd` standing for the legacy `libvirt` socket name; the path says system
//! (`/run/libvirt/<name>-admin-sock`) or session (`$XDG_RUNTIME_DIR/libvirt/<name>-admin-sock`);
//! `?socket=` names the socket explicitly. Without a URI: `LIBVIRT_ADMIN_DEFAULT_URI`, else
//! `libvirtd:///system` for root and `libvirtd:///session` for other users.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! use oxvirt_client::admin::{AdminConnection, THREADPOOL_WORKERS_MAX};
//! use oxvirt_proto::typed_param::{TypedParam, TypedValue};
//! let adm = AdminConnection::open(Some("libvirtd:///system")).await?;
//! for srv in adm.list_servers().await? {
//!     let pool = adm.server_get_threadpool_parameters(&srv, 0).await?;
//!     println!("{}: {} of {} workers", srv.name, pool.n_workers, pool.max_workers);
//!     for c in adm.server_list_clients(&srv, 0).await? {
//!         println!("  client {} since {}", c.id, c.timestamp);
//!     }
//! }
//! let srv = adm.lookup_server("libvirtd", 0).await?;
//! adm.server_set_threadpool_parameters(
//!     &srv,
//!     &[TypedParam::new(THREADPOOL_WORKERS_MAX, TypedValue::UInt(40))],
//!     0,
//! )
//! .await?;
//! adm.close().await
//! # }
//! ```

use crate::connection::Connection;
use crate::error::ClientError;
use crate::uri::RemoteUri;
use crate::{conf::ClientConf, sockets, Env};
use oxvirt_proto::admin::{self as a, procs};
use oxvirt_proto::typed_param::{TypedParam, TypedValue};
use oxvirt_xdr::Xdr;
use std::path::{Path, PathBuf};

pub use oxvirt_proto::admin::{Client as AdminClient, Server as AdminServer};

/// The system daemons' run directory.
pub const SYSTEM_RUN_DIR: &str = "/run/libvirt";

/// `VIR_THREADPOOL_WORKERS_MIN` (settable).
pub const THREADPOOL_WORKERS_MIN: &str = "minWorkers";
/// `VIR_THREADPOOL_WORKERS_MAX` (settable).
pub const THREADPOOL_WORKERS_MAX: &str = "maxWorkers";
/// `VIR_THREADPOOL_WORKERS_PRIORITY` (settable).
pub const THREADPOOL_WORKERS_PRIORITY: &str = "prioWorkers";
/// `VIR_THREADPOOL_WORKERS_FREE`.
pub const THREADPOOL_WORKERS_FREE: &str = "freeWorkers";
/// `VIR_THREADPOOL_WORKERS_CURRENT`.
pub const THREADPOOL_WORKERS_CURRENT: &str = "nWorkers";
/// `VIR_THREADPOOL_JOB_QUEUE_DEPTH`.
pub const THREADPOOL_JOB_QUEUE_DEPTH: &str = "jobQueueDepth";
/// `VIR_SERVER_CLIENTS_MAX` (settable).
pub const SERVER_CLIENTS_MAX: &str = "nclients_max";
/// `VIR_SERVER_CLIENTS_CURRENT`.
pub const SERVER_CLIENTS_CURRENT: &str = "nclients";
/// `VIR_SERVER_CLIENTS_UNAUTH_MAX` (settable).
pub const SERVER_CLIENTS_UNAUTH_MAX: &str = "nclients_unauth_max";
/// `VIR_SERVER_CLIENTS_UNAUTH_CURRENT`.
pub const SERVER_CLIENTS_UNAUTH_CURRENT: &str = "nclients_unauth";
/// `VIR_DAEMON_SHUTDOWN_PRESERVE` (a flag of [`AdminConnection::daemon_shutdown`]).
pub const DAEMON_SHUTDOWN_PRESERVE: u32 = 1 << 0;

/// A server's worker pool (`virAdmServerGetThreadPoolParameters`); absent fields are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThreadPoolParams {
    /// `minWorkers`.
    pub min_workers: u32,
    /// `maxWorkers`.
    pub max_workers: u32,
    /// `nWorkers`: current workers.
    pub n_workers: u32,
    /// `freeWorkers`: idle workers.
    pub free_workers: u32,
    /// `prioWorkers`: priority workers.
    pub prio_workers: u32,
    /// `jobQueueDepth`: queued jobs.
    pub job_queue_depth: u32,
}

/// A server's client limits (`virAdmServerGetClientLimits`); absent fields are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientLimits {
    /// `nclients_max`.
    pub nclients_max: u32,
    /// `nclients`: connected clients.
    pub nclients: u32,
    /// `nclients_unauth_max`.
    pub nclients_unauth_max: u32,
    /// `nclients_unauth`: clients still authenticating.
    pub nclients_unauth: u32,
}

/// How a client is connected (`virClientTransport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientTransport {
    /// `VIR_CLIENT_TRANS_UNIX`.
    Unix,
    /// `VIR_CLIENT_TRANS_TCP`.
    Tcp,
    /// `VIR_CLIENT_TRANS_TLS`.
    Tls,
    /// A number this client does not know.
    Other(u32),
}

impl ClientTransport {
    /// The transport of a listed client.
    pub fn of(c: &AdminClient) -> Self {
        match c.transport {
            a::transport::UNIX => Self::Unix,
            a::transport::TCP => Self::Tcp,
            a::transport::TLS => Self::Tls,
            n => Self::Other(n),
        }
    }
}

/// What `virAdmClientGetInfo` reports about a client (fields the daemon did not send are
/// `None`; `params` holds everything as sent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientInfo {
    /// `readonly`.
    pub readonly: Option<bool>,
    /// `sock_addr` (TCP/TLS clients).
    pub sock_addr: Option<String>,
    /// `sasl_user_name`.
    pub sasl_user_name: Option<String>,
    /// `x509_dname`.
    pub x509_dname: Option<String>,
    /// `unix_user_id`.
    pub unix_user_id: Option<i32>,
    /// `unix_user_name`.
    pub unix_user_name: Option<String>,
    /// `unix_group_id`.
    pub unix_group_id: Option<i32>,
    /// `unix_group_name`.
    pub unix_group_name: Option<String>,
    /// `unix_process_id`.
    pub unix_process_id: Option<i32>,
    /// `selinux_context`.
    pub selinux_context: Option<String>,
    /// Every parameter as the daemon sent it.
    pub params: Vec<TypedParam>,
}

fn uint_of(params: &[TypedParam], name: &str) -> u32 {
    params
        .iter()
        .find(|p| p.field == name)
        .and_then(|p| match p.value {
            TypedValue::UInt(v) => Some(v),
            TypedValue::Int(v) => u32::try_from(v).ok(),
            TypedValue::ULLong(v) => u32::try_from(v).ok(),
            TypedValue::LLong(v) => u32::try_from(v).ok(),
            _ => None,
        })
        .unwrap_or(0)
}

impl ClientInfo {
    fn from_params(params: Vec<TypedParam>) -> Self {
        let mut info = ClientInfo::default();
        for p in &params {
            let s = match &p.value {
                TypedValue::String(s) => Some(s.clone()),
                _ => None,
            };
            let i = match p.value {
                TypedValue::Int(v) => Some(v),
                TypedValue::UInt(v) => i32::try_from(v).ok(),
                _ => None,
            };
            match p.field.as_str() {
                "readonly" => {
                    info.readonly = match p.value {
                        TypedValue::Boolean(b) => Some(b),
                        _ => i.map(|v| v != 0),
                    }
                }
                "sock_addr" => info.sock_addr = s,
                "sasl_user_name" => info.sasl_user_name = s,
                "x509_dname" => info.x509_dname = s,
                "unix_user_id" => info.unix_user_id = i,
                "unix_user_name" => info.unix_user_name = s,
                "unix_group_id" => info.unix_group_id = i,
                "unix_group_name" => info.unix_group_name = s,
                "unix_process_id" => info.unix_process_id = i,
                "selinux_context" => info.selinux_context = s,
                _ => {}
            }
        }
        info.params = params;
        info
    }
}

/// The URI `virt-admin` opens when none is given: `LIBVIRT_ADMIN_DEFAULT_URI`, else
/// `libvirtd:///system` for root and `libvirtd:///session` for others.
///
/// ```
/// use oxvirt_client::{admin::default_uri, Env};
/// assert_eq!(default_uri(0, &Env::default()), "libvirtd:///system");
/// assert_eq!(default_uri(1000, &Env::default()), "libvirtd:///session");
/// let env = Env::from_pairs([("LIBVIRT_ADMIN_DEFAULT_URI", "virtlogd:///system")]);
/// assert_eq!(default_uri(1000, &env), "virtlogd:///system");
/// ```
pub fn default_uri(euid: u32, env: &Env) -> String {
    if let Some(u) = env.get("LIBVIRT_ADMIN_DEFAULT_URI") {
        return u.to_string();
    }
    if euid == 0 {
        "libvirtd:///system".into()
    } else {
        "libvirtd:///session".into()
    }
}

/// The admin socket for `uri`, as `virt-admin` resolves it (I/O-free).
///
/// ```
/// use oxvirt_client::{admin::socket_path, Env};
/// let env = Env::from_pairs([("XDG_RUNTIME_DIR", "/run/user/1000")]);
/// let p = |u| socket_path(u, 1000, &env).unwrap().display().to_string();
/// assert_eq!(p("libvirtd:///system"), "/run/libvirt/libvirt-admin-sock");
/// assert_eq!(p("virtqemud:///system"), "/run/libvirt/virtqemud-admin-sock");
/// assert_eq!(p("virtlogd:///session"), "/run/user/1000/libvirt/virtlogd-admin-sock");
/// assert_eq!(p("libvirtd:///session?socket=/tmp/a%20b"), "/tmp/a b");
/// assert!(socket_path("libvirtd:///default", 0, &env).is_err());
/// assert!(socket_path("libvirtd://host/system", 0, &env).is_err());
/// ```
pub fn socket_path(uri: &str, euid: u32, env: &Env) -> Result<PathBuf, ClientError> {
    let u = RemoteUri::parse(uri).map_err(|e| ClientError::Config(e.to_string()))?;
    if let Some(h) = u.host() {
        return Err(ClientError::Config(format!(
            "Only local admin connections are supported, not to '{h}'"
        )));
    }
    let mut explicit = None;
    for p in u.params() {
        if p.name == "socket" {
            explicit = Some(PathBuf::from(&p.value));
        } else {
            return Err(ClientError::Config(format!(
                "Unknown URI parameter '{}'",
                p.name
            )));
        }
    }
    let rundir = match u.path() {
        "/system" => PathBuf::from(SYSTEM_RUN_DIR),
        "/session" => {
            let conf = ClientConf::default();
            sockets::Context::new(euid, env, &conf)
                .user_runtime_dir()
                .map_err(|e| ClientError::Config(e.to_string()))?
        }
        other => {
            return Err(ClientError::Config(format!(
                "Invalid URI path '{other}', try '/system'"
            )))
        }
    };
    if let Some(p) = explicit {
        return Ok(p);
    }
    let name = match u.scheme() {
        "libvirtd" => "libvirt",
        s => s,
    };
    Ok(rundir.join(format!("{name}-admin-sock")))
}

/// A connection to a daemon's admin server.
#[derive(Debug, Clone)]
pub struct AdminConnection {
    conn: Connection,
    uri: String,
}

impl AdminConnection {
    /// Opens the admin socket `uri` names (`None`: [`default_uri`]) and runs the handshake.
    pub async fn open(uri: Option<&str>) -> Result<AdminConnection, ClientError> {
        let env = Env::from_process();
        let euid = nix::unistd::geteuid().as_raw();
        let uri = match uri {
            Some(u) => u.to_string(),
            None => default_uri(euid, &env),
        };
        let path = socket_path(&uri, euid, &env)?;
        Self::open_socket(&path, &uri).await
    }

    /// Connects to the admin socket at `path` (reported as `uri` by [`Self::uri`]) and runs the
    /// handshake.
    pub async fn open_socket(path: &Path, uri: &str) -> Result<AdminConnection, ClientError> {
        let stream =
            tokio::net::UnixStream::connect(path)
                .await
                .map_err(|e| ClientError::Connect {
                    target: path.display().to_string(),
                    // strerror's text, as libvirt prints it (no "(os error N)").
                    reason: match e.raw_os_error() {
                        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
                        None => e.to_string(),
                    },
                })?;
        let adm = AdminConnection {
            conn: Connection::raw_from_stream(stream)?,
            uri: uri.to_string(),
        };
        adm.call::<_, ()>(procs::CONNECT_OPEN, &a::FlagsArgs { flags: 0 })
            .await?;
        Ok(adm)
    }

    async fn call<A: Xdr, R: Xdr>(&self, proc_: i32, args: &A) -> Result<R, ClientError> {
        self.conn
            .call_program(a::PROGRAM, a::VERSION, proc_, args)
            .await
    }

    /// `virAdmConnectGetURI`: the URI this connection was opened with.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Whether the connection still works.
    pub fn is_alive(&self) -> bool {
        self.conn.is_alive()
    }

    /// `virAdmConnectClose`: `ADMIN_PROC_CONNECT_CLOSE`; the daemon then closes the socket.
    pub async fn close(&self) -> Result<(), ClientError> {
        self.call::<(), ()>(procs::CONNECT_CLOSE, &()).await
    }

    /// `virAdmConnectGetLibVersion` (major × 1,000,000 + minor × 1,000 + release).
    pub async fn get_lib_version(&self) -> Result<u64, ClientError> {
        let r: a::LibVersionRet = self.call(procs::CONNECT_GET_LIB_VERSION, &()).await?;
        Ok(r.lib_ver)
    }

    /// `virAdmConnectListServers`: the daemon's servers, by name.
    pub async fn list_servers(&self) -> Result<Vec<AdminServer>, ClientError> {
        let r: a::ListServersRet = self
            .call(
                procs::CONNECT_LIST_SERVERS,
                &a::ListServersArgs {
                    need_results: 1,
                    flags: 0,
                },
            )
            .await?;
        Ok(r.servers)
    }

    /// `virAdmConnectLookupServer` (fails with code 95, `VIR_ERR_NO_SERVER`).
    pub async fn lookup_server(&self, name: &str, flags: u32) -> Result<AdminServer, ClientError> {
        let r: a::ServerRet = self
            .call(
                procs::CONNECT_LOOKUP_SERVER,
                &a::LookupServerArgs {
                    name: name.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.srv)
    }

    /// `virAdmServerGetThreadPoolParameters`.
    pub async fn server_get_threadpool_parameters(
        &self,
        srv: &AdminServer,
        flags: u32,
    ) -> Result<ThreadPoolParams, ClientError> {
        let r: a::ParamsRet = self
            .call(
                procs::SERVER_GET_THREADPOOL_PARAMETERS,
                &a::ServerFlagsArgs {
                    srv: srv.clone(),
                    flags,
                },
            )
            .await?;
        let p = &r.params;
        Ok(ThreadPoolParams {
            min_workers: uint_of(p, THREADPOOL_WORKERS_MIN),
            max_workers: uint_of(p, THREADPOOL_WORKERS_MAX),
            n_workers: uint_of(p, THREADPOOL_WORKERS_CURRENT),
            free_workers: uint_of(p, THREADPOOL_WORKERS_FREE),
            prio_workers: uint_of(p, THREADPOOL_WORKERS_PRIORITY),
            job_queue_depth: uint_of(p, THREADPOOL_JOB_QUEUE_DEPTH),
        })
    }

    /// `virAdmServerSetThreadPoolParameters` (`minWorkers`, `maxWorkers`, `prioWorkers` as
    /// `UInt`; others are refused by the daemon with code 74, `VIR_ERR_ARGUMENT_UNSUPPORTED`).
    pub async fn server_set_threadpool_parameters(
        &self,
        srv: &AdminServer,
        params: &[TypedParam],
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(
            procs::SERVER_SET_THREADPOOL_PARAMETERS,
            &a::ServerSetParamsArgs {
                srv: srv.clone(),
                params: params.to_vec(),
                flags,
            },
        )
        .await
    }

    /// `virAdmServerGetClientLimits`.
    pub async fn server_get_client_limits(
        &self,
        srv: &AdminServer,
        flags: u32,
    ) -> Result<ClientLimits, ClientError> {
        let r: a::ParamsRet = self
            .call(
                procs::SERVER_GET_CLIENT_LIMITS,
                &a::ServerFlagsArgs {
                    srv: srv.clone(),
                    flags,
                },
            )
            .await?;
        let p = &r.params;
        Ok(ClientLimits {
            nclients_max: uint_of(p, SERVER_CLIENTS_MAX),
            nclients: uint_of(p, SERVER_CLIENTS_CURRENT),
            nclients_unauth_max: uint_of(p, SERVER_CLIENTS_UNAUTH_MAX),
            nclients_unauth: uint_of(p, SERVER_CLIENTS_UNAUTH_CURRENT),
        })
    }

    /// `virAdmServerSetClientLimits` (`nclients_max`, `nclients_unauth_max` as `UInt`).
    pub async fn server_set_client_limits(
        &self,
        srv: &AdminServer,
        params: &[TypedParam],
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(
            procs::SERVER_SET_CLIENT_LIMITS,
            &a::ServerSetParamsArgs {
                srv: srv.clone(),
                params: params.to_vec(),
                flags,
            },
        )
        .await
    }

    /// `virAdmServerListClients`.
    pub async fn server_list_clients(
        &self,
        srv: &AdminServer,
        flags: u32,
    ) -> Result<Vec<AdminClient>, ClientError> {
        let r: a::ListClientsRet = self
            .call(
                procs::SERVER_LIST_CLIENTS,
                &a::ListClientsArgs {
                    srv: srv.clone(),
                    need_results: 1,
                    flags,
                },
            )
            .await?;
        Ok(r.clients)
    }

    /// `virAdmServerLookupClient` (fails with code 96, `VIR_ERR_NO_CLIENT`).
    pub async fn server_lookup_client(
        &self,
        srv: &AdminServer,
        id: u64,
        flags: u32,
    ) -> Result<AdminClient, ClientError> {
        let r: a::ClientRet = self
            .call(
                procs::SERVER_LOOKUP_CLIENT,
                &a::LookupClientArgs {
                    srv: srv.clone(),
                    id,
                    flags,
                },
            )
            .await?;
        Ok(r.clnt)
    }

    /// `virAdmClientGetInfo`.
    pub async fn client_get_info(
        &self,
        client: &AdminClient,
        flags: u32,
    ) -> Result<ClientInfo, ClientError> {
        let r: a::ParamsRet = self
            .call(
                procs::CLIENT_GET_INFO,
                &a::ClientFlagsArgs {
                    clnt: client.clone(),
                    flags,
                },
            )
            .await?;
        Ok(ClientInfo::from_params(r.params))
    }

    /// `virAdmClientClose`: disconnects the client.
    pub async fn client_close(&self, client: &AdminClient, flags: u32) -> Result<(), ClientError> {
        self.call(
            procs::CLIENT_CLOSE,
            &a::ClientFlagsArgs {
                clnt: client.clone(),
                flags,
            },
        )
        .await
    }

    /// `virAdmConnectGetLoggingOutputs`: the outputs as one string (`"1:file:/x 3:stderr"`).
    pub async fn get_logging_outputs(&self, flags: u32) -> Result<String, ClientError> {
        let r: a::LoggingOutputsRet = self
            .call(procs::CONNECT_GET_LOGGING_OUTPUTS, &a::FlagsArgs { flags })
            .await?;
        Ok(r.outputs)
    }

    /// `virAdmConnectGetLoggingFilters`: the filters as one string (empty when none).
    pub async fn get_logging_filters(&self, flags: u32) -> Result<String, ClientError> {
        let r: a::LoggingFiltersRet = self
            .call(procs::CONNECT_GET_LOGGING_FILTERS, &a::FlagsArgs { flags })
            .await?;
        Ok(r.filters.unwrap_or_default())
    }

    /// `virAdmConnectSetLoggingOutputs` (`None` or `""`: the daemon's default).
    pub async fn set_logging_outputs(
        &self,
        outputs: Option<&str>,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(
            procs::CONNECT_SET_LOGGING_OUTPUTS,
            &a::SetLoggingArgs {
                value: outputs.map(Into::into),
                flags,
            },
        )
        .await
    }

    /// `virAdmConnectSetLoggingFilters` (`None` or `""`: no filters).
    pub async fn set_logging_filters(
        &self,
        filters: Option<&str>,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(
            procs::CONNECT_SET_LOGGING_FILTERS,
            &a::SetLoggingArgs {
                value: filters.map(Into::into),
                flags,
            },
        )
        .await
    }

    /// `virAdmServerUpdateTlsFiles`: reloads the server's TLS certificates.
    pub async fn server_update_tls_files(
        &self,
        srv: &AdminServer,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(
            procs::SERVER_UPDATE_TLS_FILES,
            &a::ServerFlagsArgs {
                srv: srv.clone(),
                flags,
            },
        )
        .await
    }

    /// `virAdmConnectSetDaemonTimeout`: the idle timeout in seconds (0: none).
    pub async fn set_daemon_timeout(&self, timeout: u32, flags: u32) -> Result<(), ClientError> {
        self.call(
            procs::CONNECT_SET_DAEMON_TIMEOUT,
            &a::SetDaemonTimeoutArgs { timeout, flags },
        )
        .await
    }

    /// `virAdmConnectDaemonShutdown` (`flags`: [`DAEMON_SHUTDOWN_PRESERVE`]). Added to libvirt
    /// after 9.0: a 9.0 daemon answers [`ClientError::NotSupported`] ("unknown procedure").
    pub async fn daemon_shutdown(&self, flags: u32) -> Result<(), ClientError> {
        self.call(procs::CONNECT_DAEMON_SHUTDOWN, &a::FlagsArgs { flags })
            .await
    }
}

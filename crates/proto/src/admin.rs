//! The ADMIN program (0x06900690 v1), served on `*-admin-sock`.

use crate::typed_param::TypedParam;
use oxvirt_xdr::xdr_struct;

/// Program number.
pub const PROGRAM: u32 = 0x0690_0690;
/// Program version.
pub const VERSION: u32 = 1;

/// Procedure numbers.
pub mod procs {
    pub const CONNECT_OPEN: i32 = 1;
    pub const CONNECT_CLOSE: i32 = 2;
    pub const CONNECT_GET_LIB_VERSION: i32 = 3;
    pub const CONNECT_LIST_SERVERS: i32 = 4;
    pub const CONNECT_LOOKUP_SERVER: i32 = 5;
    pub const SERVER_GET_THREADPOOL_PARAMETERS: i32 = 6;
    pub const SERVER_SET_THREADPOOL_PARAMETERS: i32 = 7;
    pub const SERVER_LIST_CLIENTS: i32 = 8;
    pub const SERVER_LOOKUP_CLIENT: i32 = 9;
    pub const CLIENT_GET_INFO: i32 = 10;
    pub const CLIENT_CLOSE: i32 = 11;
    pub const SERVER_GET_CLIENT_LIMITS: i32 = 12;
    pub const SERVER_SET_CLIENT_LIMITS: i32 = 13;
    pub const CONNECT_GET_LOGGING_OUTPUTS: i32 = 14;
    pub const CONNECT_GET_LOGGING_FILTERS: i32 = 15;
    pub const CONNECT_SET_LOGGING_OUTPUTS: i32 = 16;
    pub const CONNECT_SET_LOGGING_FILTERS: i32 = 17;
    pub const SERVER_UPDATE_TLS_FILES: i32 = 18;
    pub const CONNECT_SET_DAEMON_TIMEOUT: i32 = 19;
    pub const CONNECT_DAEMON_SHUTDOWN: i32 = 20;

    /// Every procedure of the program, in order (fuzzers iterate it: a procedure added here
    /// is fuzzed with no new code).
    pub const ALL: [i32; 20] = [
        CONNECT_OPEN,
        CONNECT_CLOSE,
        CONNECT_GET_LIB_VERSION,
        CONNECT_LIST_SERVERS,
        CONNECT_LOOKUP_SERVER,
        SERVER_GET_THREADPOOL_PARAMETERS,
        SERVER_SET_THREADPOOL_PARAMETERS,
        SERVER_LIST_CLIENTS,
        SERVER_LOOKUP_CLIENT,
        CLIENT_GET_INFO,
        CLIENT_CLOSE,
        SERVER_GET_CLIENT_LIMITS,
        SERVER_SET_CLIENT_LIMITS,
        CONNECT_GET_LOGGING_OUTPUTS,
        CONNECT_GET_LOGGING_FILTERS,
        CONNECT_SET_LOGGING_OUTPUTS,
        CONNECT_SET_LOGGING_FILTERS,
        SERVER_UPDATE_TLS_FILES,
        CONNECT_SET_DAEMON_TIMEOUT,
        CONNECT_DAEMON_SHUTDOWN,
    ];
}

/// `VIR_CLIENT_TRANS_*`.
pub mod transport {
    pub const UNIX: u32 = 0;
    pub const TCP: u32 = 1;
    pub const TLS: u32 = 2;
}

xdr_struct! {
    /// `admin_nonnull_server`.
    pub struct Server { pub name: String }
    /// `admin_nonnull_client`.
    pub struct Client { pub srv: Server, pub id: u64, pub timestamp: i64, pub transport: u32 }
    pub struct FlagsArgs { pub flags: u32 }
    pub struct LibVersionRet { pub lib_ver: u64 }
    pub struct ListServersArgs { pub need_results: u32, pub flags: u32 }
    pub struct ListServersRet { pub servers: Vec<Server>, pub ret: u32 }
    pub struct LookupServerArgs { pub name: String, pub flags: u32 }
    pub struct ServerRet { pub srv: Server }
    pub struct ServerFlagsArgs { pub srv: Server, pub flags: u32 }
    pub struct ParamsRet { pub params: Vec<TypedParam> }
    pub struct ServerSetParamsArgs { pub srv: Server, pub params: Vec<TypedParam>, pub flags: u32 }
    pub struct ListClientsArgs { pub srv: Server, pub need_results: u32, pub flags: u32 }
    pub struct ListClientsRet { pub clients: Vec<Client>, pub ret: u32 }
    pub struct LookupClientArgs { pub srv: Server, pub id: u64, pub flags: u32 }
    pub struct ClientRet { pub clnt: Client }
    pub struct ClientFlagsArgs { pub clnt: Client, pub flags: u32 }
    pub struct LoggingOutputsRet { pub outputs: String, pub noutputs: u32 }
    pub struct LoggingFiltersRet { pub filters: Option<String>, pub nfilters: u32 }
    pub struct SetLoggingArgs { pub value: Option<String>, pub flags: u32 }
    pub struct SetDaemonTimeoutArgs { pub timeout: u32, pub flags: u32 }
}

//! Connection-level procedures: authentication list, open and close, feature probes, and the
//! host facts (type, versions, hostname, URI, capabilities, node info).

use super::session::{RemoteClient, Session};
use crate::dispatch::call;
use oxvirt_driver_test::TestConnection;
use oxvirt_proto::remote::{self as r, procs as p};
use oxvirt_proto::Header;
use oxvirt_rpc::program::Reply;
use oxvirt_rpc::Client;
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};
use oxvirt_xdr::{CharArray, FixedChars};
use std::sync::Arc;

/// libvirt feature numbers we answer (VIR_DRV_FEATURE_*).
mod feature {
    pub const REMOTE: i32 = 2;
    pub const FD_PASSING: i32 = 8;
    pub const TYPED_PARAM_STRING: i32 = 9;
    pub const PROGRAM_KEEPALIVE: i32 = 10;
    pub const REMOTE_EVENT_CALLBACK: i32 = 14;
    pub const REMOTE_CLOSE_CALLBACK: i32 = 15;
    pub const NETWORK_UPDATE_HAS_CORRECT_ORDER: i32 = 16;
}

fn supports(f: i32) -> i32 {
    use feature::*;
    match f {
        FD_PASSING
        | TYPED_PARAM_STRING
        | PROGRAM_KEEPALIVE
        | REMOTE_EVENT_CALLBACK
        | REMOTE_CLOSE_CALLBACK
        | NETWORK_UPDATE_HAS_CORRECT_ORDER => 1,
        REMOTE => 0,
        _ => 0,
    }
}

/// "no connection driver available for URI" (VIR_ERR_NO_CONNECT).
fn no_driver(uri: &str) -> VirError {
    VirError::with_detail(
        ErrorCode::NoConnect,
        ErrorDomain::None,
        "no connection driver available for",
        uri,
    )
    .with_message(format!("no connection driver available for {uri}"))
}

/// Split `test:///default` into the driver scheme and the path; `None` if it is not a URI.
pub fn parse_uri(uri: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = uri.split_once("://")?;
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let path_start = rest.find('/').unwrap_or(rest.len());
    if path_start != 0 {
        // A host part: the daemon only serves local drivers.
        return None;
    }
    Some((scheme, &rest[path_start..]))
}

fn open(rc: &RemoteClient, client: &Arc<Client>, a: r::ConnectOpenArgs) -> Result<(), VirError> {
    if rc.session().is_some() {
        rc.close();
        return Err(VirError::internal(
            ErrorDomain::Rpc,
            "connection already open",
        ));
    }
    // An empty name means "probe": the test driver is the only one this daemon has.
    let name = a
        .name
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "test:///default".into());
    let (scheme, path) = parse_uri(&name).ok_or_else(|| no_driver(&name))?;
    if scheme != "test" {
        return Err(no_driver(&name));
    }
    let conn = TestConnection::open(path).map_err(|e| e.to_vir())?;
    if a.flags & r::OPEN_RO != 0 {
        client.set_readonly();
    }
    // Events are forwarded from the first callback registration on (an idle connection
    // carries no forwarding task).
    rc.set(Session::new(conn, format!("test://{path}")));
    Ok(())
}

/// Procedures allowed before CONNECT_OPEN.
pub fn pre_open(rc: &RemoteClient, client: &Arc<Client>, h: &Header, body: &[u8]) -> Reply {
    match h.proc_ {
        p::AUTH_LIST => call(h, body, |_: ()| {
            Ok(r::AuthListRet {
                types: vec![r::AUTH_NONE],
            })
        }),
        p::CONNECT_OPEN => call(h, body, |a: r::ConnectOpenArgs| open(rc, client, a)),
        p::CONNECT_CLOSE => {
            rc.close();
            match call(h, body, |_: ()| Ok(())) {
                Reply::Frame(f) => Reply::CloseAfter(f),
                other => other,
            }
        }
        _ => call(h, body, |a: r::SupportsFeatureArgs| {
            if a.feature == feature::PROGRAM_KEEPALIVE {
                client.start_keepalive();
            } else if rc.session().is_none() {
                return Err(super::not_open());
            }
            Ok(r::SupportsFeatureRet {
                supported: supports(a.feature),
            })
        }),
    }
}

/// Host and connection facts; None if `h` is not one of them.
pub fn handle(
    sess: &Arc<Session>,
    _client: &Arc<Client>,
    h: &Header,
    body: &[u8],
) -> Option<Reply> {
    let conn = &sess.conn;
    let v = |e: oxvirt_driver_test::DriverError| e.to_vir();
    Some(match h.proc_ {
        p::CONNECT_GET_TYPE => call(h, body, |_: ()| {
            Ok(r::StringRet {
                value: "TEST".into(),
            })
        }),
        p::CONNECT_GET_VERSION => call(h, body, |_: ()| {
            Ok(r::UHyperRet {
                value: conn.lock().get_version(),
            })
        }),
        p::CONNECT_GET_LIB_VERSION => call(h, body, |_: ()| {
            Ok(r::UHyperRet {
                value: crate::LIB_VERSION,
            })
        }),
        p::CONNECT_GET_HOSTNAME => call(h, body, |_: ()| {
            Ok(r::StringRet {
                value: conn.lock().get_hostname(),
            })
        }),
        p::CONNECT_GET_URI => call(h, body, |_: ()| {
            Ok(r::StringRet {
                value: sess.uri.clone(),
            })
        }),
        p::CONNECT_GET_CAPABILITIES => call(h, body, |_: ()| {
            Ok(r::StringRet {
                value: conn.lock().capabilities(),
            })
        }),
        p::CONNECT_GET_SYSINFO => call(h, body, |a: r::FlagsArgs| {
            conn.lock()
                .sysinfo(a.flags)
                .map(|value| r::StringRet { value })
                .map_err(v)
        }),
        p::CONNECT_GET_MAX_VCPUS => call(h, body, |a: r::GetMaxVcpusArgs| {
            Ok(r::IntRet {
                value: conn.lock().max_vcpus(a.type_.as_deref()) as i32,
            })
        }),
        p::CONNECT_IS_SECURE => call(h, body, |_: ()| Ok(r::IntRet { value: 1 })),
        p::CONNECT_REGISTER_CLOSE_CALLBACK => call(h, body, |_: ()| {
            *sess.close_callback.lock().unwrap() = true;
            Ok(())
        }),
        p::CONNECT_UNREGISTER_CLOSE_CALLBACK => call(h, body, |_: ()| {
            *sess.close_callback.lock().unwrap() = false;
            Ok(())
        }),
        p::NODE_GET_INFO => call(h, body, |_: ()| {
            let n = conn.lock().node_info();
            Ok(r::NodeGetInfoRet {
                model: FixedChars(n.model.clone()),
                memory: n.memory_kib,
                cpus: n.cpus as i32,
                mhz: n.mhz as i32,
                nodes: n.nodes as i32,
                sockets: n.sockets as i32,
                cores: n.cores as i32,
                threads: n.threads as i32,
            })
        }),
        p::NODE_GET_FREE_MEMORY => call(h, body, |_: ()| {
            Ok(r::UHyperRet {
                value: conn.lock().free_memory(),
            })
        }),
        p::NODE_GET_CELLS_FREE_MEMORY => call(h, body, |a: r::NodeGetCellsFreeMemoryArgs| {
            if a.maxcells < 0 || a.maxcells as usize > r::limits::NODE_MAX_CELLS {
                return Err(VirError::bare(
                    ErrorCode::Rpc,
                    ErrorDomain::Rpc,
                    "maxCells > REMOTE_NODE_MAX_CELLS",
                ));
            }
            conn.lock()
                .cells_free_memory(a.start_cell, a.maxcells)
                .map(|cells| r::NodeGetCellsFreeMemoryRet { cells })
                .map_err(v)
        }),
        p::NODE_GET_SECURITY_MODEL => call(h, body, |_: ()| {
            let (model, doi) = conn.lock().security_model();
            Ok(r::NodeGetSecurityModelRet {
                model: CharArray::c_string(&model),
                doi: CharArray::c_string(&doi),
            })
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(parse_uri("test:///default"), Some(("test", "/default")));
        assert_eq!(
            parse_uri("test:///tmp/node.xml?x=1"),
            Some(("test", "/tmp/node.xml"))
        );
        assert_eq!(parse_uri("qemu:///system"), Some(("qemu", "/system")));
        assert_eq!(parse_uri("test://host/default"), None);
        assert_eq!(parse_uri("garbage"), None);
    }

    #[test]
    fn feature_answers() {
        assert_eq!(supports(10), 1);
        assert_eq!(supports(14), 1);
        assert_eq!(supports(2), 0);
        assert_eq!(supports(1), 0);
        assert_eq!(supports(999), 0);
    }
}

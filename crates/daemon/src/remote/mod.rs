//! The REMOTE program (0x20008086): libvirt's driver API for virsh, virt-manager,
//! libvirt-python and go-libvirt.
//!
//! Who talks to whom: the RPC layer hands each CALL to [`RemoteProgram::dispatch`], which applies
//! the gates libvirtd applies (authentication, "hypervisor connection not open", read-only
//! denials from [`table`]) and routes to one handler module per object family. Handlers decode
//! with `oxvirt-proto` types, call the driver, and encode; they never touch sockets. Events flow
//! the other way: [`events`] forwards driver events to the clients that registered callbacks.

mod connect;
mod convert;
mod domain;
pub mod events;
mod host;
mod network;
mod session;
mod storage;
pub mod table;

use crate::dispatch::unknown_procedure;
use crate::family::DaemonSpec;
use oxvirt_proto::remote::{self as r, procs as p};
use oxvirt_proto::Header;
use oxvirt_rpc::frame::reply_err;
use oxvirt_rpc::program::{Dispatched, Program, Reply};
use oxvirt_rpc::Client;
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};
pub use session::{RemoteClient, Session};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use table::Access;

/// The programs a hypervisor daemon registers on its main server: REMOTE, plus QEMU and LXC
/// (whose procedures the test driver does not support).
pub fn programs(spec: &'static DaemonSpec) -> Vec<Arc<dyn Program>> {
    vec![
        Arc::new(RemoteProgram { spec }),
        Arc::new(Unsupported {
            number: r::QEMU_PROGRAM,
        }),
        Arc::new(Unsupported {
            number: r::LXC_PROGRAM,
        }),
    ]
}

/// The REMOTE program.
pub struct RemoteProgram {
    #[allow(dead_code)]
    spec: &'static DaemonSpec,
}

/// "internal error: hypervisor connection not open".
pub fn not_open() -> VirError {
    VirError::internal(ErrorDomain::Rpc, "hypervisor connection not open")
}

fn auth_required() -> VirError {
    VirError::bare(ErrorCode::Rpc, ErrorDomain::Rpc, "authentication required")
}

impl RemoteProgram {
    fn handle(&self, client: &Arc<Client>, h: &Header, body: &[u8]) -> Reply {
        let err = |e: VirError| Reply::Frame(reply_err(h, &e));
        let info = table::info(h.proc_);
        let known = info.is_some() || p::name(h.proc_).is_some();
        if !known {
            return err(unknown_procedure(h.proc_));
        }
        if !client.is_authenticated() && h.proc_ != p::AUTH_LIST {
            return err(auth_required());
        }
        let rc = client.state::<RemoteClient>();
        let Some(info) = info else {
            // A libvirt 9.0 procedure our drivers lack: libvirtd's public API answers it.
            if rc.session().is_none() {
                return err(not_open());
            }
            let name = p::name(h.proc_).unwrap_or("UNKNOWN");
            let mut e = VirError::no_support(&table::api_name(name));
            e.domain = table::api_module(name) as i32;
            return err(e);
        };
        match h.proc_ {
            p::AUTH_LIST | p::CONNECT_OPEN | p::CONNECT_CLOSE | p::CONNECT_SUPPORTS_FEATURE => {
                return connect::pre_open(&rc, client, h, body)
            }
            _ => {}
        }
        let Some(sess) = rc.session() else {
            return err(not_open());
        };
        if info.access == Access::Write && client.is_readonly() {
            return err(VirError::read_only(info.module, info.api));
        }
        None.or_else(|| connect::handle(&sess, client, h, body))
            .or_else(|| domain::handle(&sess, client, h, body))
            .or_else(|| events::handle(&sess, client, h, body))
            .or_else(|| network::handle(&sess, h, body))
            .or_else(|| storage::handle(&sess, h, body))
            .or_else(|| host::handle(&sess, h, body))
            .unwrap_or_else(|| err(unknown_procedure(h.proc_)))
    }
}

impl Program for RemoteProgram {
    fn number(&self) -> u32 {
        r::PROGRAM
    }
    fn version(&self) -> u32 {
        r::VERSION
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
    fn client_closed(&self, client: &Client) {
        client.state::<RemoteClient>().close();
    }
}

/// A registered program none of whose procedures this daemon's drivers support.
struct Unsupported {
    number: u32,
}

impl Program for Unsupported {
    fn number(&self) -> u32 {
        self.number
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(&self, _c: &Arc<Client>, h: &Header, _b: &[u8], _f: Vec<OwnedFd>) -> Dispatched {
        Dispatched::Now(Reply::Frame(reply_err(h, &unknown_procedure(h.proc_))))
    }
}

//! The lock program (0xEA7BEEF v1) over a [`LockDaemon`]: the RPC layer calls
//! [`Program::dispatch`] for each call (answered inline) and [`Program::client_closed`] when a
//! connection ends.
//!
//! Each connection carries its own state (`Client::state`): the owner it registered (uuid,
//! name, id, pid: the process the leases are for) and whether it was restricted. The rules,
//! checked in libvirt's order: flags; a restricted connection may do nothing more; everything
//! but REGISTER and CREATE_LOCKSPACE needs a registered owner (owner id != 0); a lockspace
//! path must name an existing lockspace ("" is the default one).
//!
//! When a connection whose peer is its registered owner closes, every lease of that owner is
//! released, and an owner that still held leases is fenced ([`crate::fence`]).

use crate::error::LockError;
use crate::fence;
use crate::protocol::{self as lp, procs as p};
use crate::state::LockDaemon;
use oxvirt_proto::Header;
use oxvirt_rpc::frame::{reply_err, reply_ok};
use oxvirt_rpc::program::{Dispatched, Program, Reply};
use oxvirt_rpc::Client;
use oxvirt_xdr::Xdr;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

/// The lock program over `state`.
pub fn program(state: Arc<LockDaemon>) -> Arc<dyn Program> {
    Arc::new(LockProgram { state })
}

struct LockProgram {
    state: Arc<LockDaemon>,
}

/// What one connection registered.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ClientPriv {
    pub restricted: bool,
    /// 0 until REGISTER.
    pub owner_id: u32,
    pub owner_pid: u32,
    pub owner_name: String,
    pub owner_uuid: [u8; 16],
}

/// The per-connection state kept in `Client::state`.
#[derive(Debug, Default)]
pub(crate) struct ClientState(Mutex<ClientPriv>);

impl ClientState {
    pub fn of(client: &Client) -> Arc<ClientState> {
        client.state::<ClientState>()
    }

    pub fn lock(&self) -> MutexGuard<'_, ClientPriv> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pid whose leases a closing connection gives up: its registered owner, if the peer is
/// that owner (libvirt's rule: a connection made on an owner's behalf by someone else, e.g.
/// libvirtd releasing leases of a running VM, releases nothing when it closes). A connection
/// without peer credentials (in-process) is taken to be its owner.
fn holder_pid(peer: Option<i32>, p: &ClientPriv) -> Option<u32> {
    if p.owner_pid == 0 {
        return None;
    }
    match peer {
        None => Some(p.owner_pid),
        Some(pid) if pid > 0 && pid as u32 == p.owner_pid => Some(p.owner_pid),
        Some(_) => None,
    }
}

fn check_flags(flags: u32, allowed: u32, function: &'static str) -> Result<(), LockError> {
    match flags & !allowed {
        0 => Ok(()),
        bad => Err(LockError::UnsupportedFlags {
            flags: bad,
            function,
        }),
    }
}

fn not_restricted(c: &ClientPriv) -> Result<(), LockError> {
    if c.restricted {
        Err(LockError::Restricted)
    } else {
        Ok(())
    }
}

fn registered(c: &ClientPriv) -> Result<(), LockError> {
    not_restricted(c)?;
    if c.owner_id == 0 {
        Err(LockError::NotRegistered)
    } else {
        Ok(())
    }
}

fn decode<A: Xdr>(body: &[u8]) -> Result<A, LockError> {
    oxvirt_xdr::from_bytes(body).map_err(|_| LockError::Decode)
}

impl LockProgram {
    fn run(&self, client: &Client, proc_: i32, body: &[u8]) -> Result<(), LockError> {
        let st = ClientState::of(client);
        let mut c = st.lock();
        let d = &self.state;
        match proc_ {
            p::REGISTER => {
                let a: lp::RegisterArgs = decode(body)?;
                check_flags(a.flags, 0, "virLockSpaceProtocolDispatchRegister")?;
                not_restricted(&c)?;
                if a.owner.id == 0 {
                    return Err(LockError::NotRegistered);
                }
                c.owner_name = a.owner.name.0;
                c.owner_uuid = a.owner.uuid.0;
                c.owner_id = a.owner.id;
                c.owner_pid = a.owner.pid;
                tracing::debug!(
                    name = %c.owner_name,
                    id = c.owner_id,
                    pid = c.owner_pid,
                    "lock owner registered"
                );
                Ok(())
            }
            p::RESTRICT => {
                let a: lp::RestrictArgs = decode(body)?;
                check_flags(a.flags, 0, "virLockSpaceProtocolDispatchRestrict")?;
                registered(&c)?;
                c.restricted = true;
                Ok(())
            }
            p::NEW => {
                let a: lp::NewArgs = decode(body)?;
                check_flags(a.flags, 0, "virLockSpaceProtocolDispatchNew")?;
                registered(&c)?;
                d.new_lockspace(&a.path)
            }
            p::CREATE_RESOURCE => {
                let a: lp::CreateResourceArgs = decode(body)?;
                check_flags(a.flags, 0, "virLockSpaceProtocolDispatchCreateResource")?;
                registered(&c)?;
                d.with_lockspace(&a.path, |ls| ls.create_resource(&a.name))
            }
            p::DELETE_RESOURCE => {
                let a: lp::DeleteResourceArgs = decode(body)?;
                check_flags(a.flags, 0, "virLockSpaceProtocolDispatchDeleteResource")?;
                registered(&c)?;
                d.with_lockspace(&a.path, |ls| ls.delete_resource(&a.name))
            }
            p::ACQUIRE_RESOURCE => {
                let a: lp::AcquireResourceArgs = decode(body)?;
                check_flags(
                    a.flags,
                    lp::ACQUIRE_SHARED | lp::ACQUIRE_AUTOCREATE,
                    "virLockSpaceProtocolDispatchAcquireResource",
                )?;
                registered(&c)?;
                d.with_lockspace(&a.path, |ls| ls.acquire(&a.name, c.owner_pid, a.flags))
            }
            p::RELEASE_RESOURCE => {
                let a: lp::ReleaseResourceArgs = decode(body)?;
                check_flags(a.flags, 0, "virLockSpaceProtocolDispatchReleaseResource")?;
                registered(&c)?;
                d.with_lockspace(&a.path, |ls| ls.release(&a.name, c.owner_pid))
            }
            p::CREATE_LOCKSPACE => {
                let a: lp::CreateLockSpaceArgs = decode(body)?;
                not_restricted(&c)?;
                d.create_lockspace(&a.path)
            }
            other => Err(LockError::UnknownProcedure(other)),
        }
    }
}

impl Program for LockProgram {
    fn number(&self) -> u32 {
        lp::PROGRAM
    }

    fn version(&self) -> u32 {
        lp::VERSION
    }

    fn dispatch(
        &self,
        client: &Arc<Client>,
        h: &Header,
        body: &[u8],
        _fds: Vec<OwnedFd>,
    ) -> Dispatched {
        let frame = match self.run(client, h.proc_, body) {
            Ok(()) => reply_ok(h, &()),
            Err(e) => reply_err(h, &e.to_vir()),
        };
        Dispatched::Now(Reply::Frame(frame))
    }

    fn save_client(&self, client: &Client) -> Option<serde_json::Value> {
        Some(crate::restart::client_private(client))
    }

    fn restore_client(&self, client: &Client, saved: &serde_json::Value) {
        if let Err(e) = crate::restart::restore_client_private(client, saved) {
            tracing::warn!(client = client.id, "cannot restore lock client data: {e}");
        }
    }

    fn client_closed(&self, client: &Client) {
        let c = ClientState::of(client).lock().clone();
        let Some(pid) = holder_pid(client.identity.pid, &c) else {
            return;
        };
        let held = self.state.release_owner(pid);
        tracing::debug!(client = client.id, pid, held, "lock client closed");
        if held > 0 && self.state.fencing() {
            fence::fence(pid);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::{LockString, Owner};
    use oxvirt_proto::{MsgStatus, MsgType, RemoteError};
    use oxvirt_virerror::VirError;
    use oxvirt_xdr::Uuid;
    use std::time::{Duration, Instant};

    /// Call `proc_` with `args` on `client`; the error the reply carries, if any.
    pub fn call<A: Xdr>(
        prog: &Arc<dyn Program>,
        client: &Arc<Client>,
        proc_: i32,
        args: &A,
    ) -> Result<(), VirError> {
        call_raw(prog, client, proc_, &oxvirt_xdr::to_bytes(args))
    }

    pub fn call_raw(
        prog: &Arc<dyn Program>,
        client: &Arc<Client>,
        proc_: i32,
        body: &[u8],
    ) -> Result<(), VirError> {
        let h = Header {
            prog: lp::PROGRAM,
            vers: lp::VERSION,
            proc_,
            kind: MsgType::Call,
            serial: 7,
            status: MsgStatus::Ok,
        };
        let Dispatched::Now(Reply::Frame(f)) = prog.dispatch(client, &h, body, vec![]) else {
            panic!("lock calls are answered inline with a frame");
        };
        assert_eq!(
            u32::from_be_bytes(f[..4].try_into().unwrap()) as usize,
            f.len()
        );
        let rh: Header = oxvirt_xdr::from_bytes(&f[4..28]).unwrap();
        assert_eq!((rh.proc_, rh.serial, rh.kind), (proc_, 7, MsgType::Reply));
        match rh.status {
            MsgStatus::Ok => {
                assert_eq!(f.len(), 28, "void reply");
                Ok(())
            }
            _ => Err(oxvirt_xdr::from_bytes::<RemoteError>(&f[28..]).unwrap().0),
        }
    }

    pub fn register(prog: &Arc<dyn Program>, client: &Arc<Client>, id: u32, pid: u32) {
        let owner = Owner {
            uuid: Uuid([id as u8; 16]),
            name: LockString(format!("vm{id}")),
            id,
            pid,
        };
        call(
            prog,
            client,
            p::REGISTER,
            &lp::RegisterArgs { owner, flags: 0 },
        )
        .unwrap();
    }

    pub fn acquire_args(path: &str, name: &str, flags: u32) -> lp::AcquireResourceArgs {
        lp::AcquireResourceArgs {
            path: path.into(),
            name: name.into(),
            flags,
        }
    }

    fn release_args(path: &str, name: &str) -> lp::ReleaseResourceArgs {
        lp::ReleaseResourceArgs {
            path: path.into(),
            name: name.into(),
            flags: 0,
        }
    }

    fn setup() -> (tempfile::TempDir, String, Arc<LockDaemon>, Arc<dyn Program>) {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("leases").to_str().unwrap().to_string();
        let d = LockDaemon::new();
        let prog = program(d.clone());
        (t, dir, d, prog)
    }

    #[test]
    fn unregistered_calls_are_refused_with_55() {
        let (_t, dir, _d, prog) = setup();
        let c = Client::detached("virtlockd", false);
        let msg = "Requested operation is not valid: lock owner details have not been registered";
        let calls: Vec<(i32, Vec<u8>)> = vec![
            (
                p::ACQUIRE_RESOURCE,
                oxvirt_xdr::to_bytes(&acquire_args("", "/x", 0)),
            ),
            (
                p::RELEASE_RESOURCE,
                oxvirt_xdr::to_bytes(&release_args("", "/x")),
            ),
            (
                p::RESTRICT,
                oxvirt_xdr::to_bytes(&lp::RestrictArgs { flags: 0 }),
            ),
            (
                p::NEW,
                oxvirt_xdr::to_bytes(&lp::NewArgs {
                    path: dir.as_str().into(),
                    flags: 0,
                }),
            ),
            (
                p::CREATE_RESOURCE,
                oxvirt_xdr::to_bytes(&lp::CreateResourceArgs {
                    path: "".into(),
                    name: "/x".into(),
                    flags: 0,
                }),
            ),
            (
                p::DELETE_RESOURCE,
                oxvirt_xdr::to_bytes(&lp::DeleteResourceArgs {
                    path: "".into(),
                    name: "/x".into(),
                    flags: 0,
                }),
            ),
        ];
        for (proc_, body) in calls {
            let e = call_raw(&prog, &c, proc_, &body).unwrap_err();
            assert_eq!((e.code, e.domain), (55, 7), "proc {proc_}");
            assert_eq!(e.message, msg);
        }
        // REGISTER with owner id 0 is refused with the same error.
        let owner = Owner {
            pid: 42,
            ..Default::default()
        };
        let e = call(
            &prog,
            &c,
            p::REGISTER,
            &lp::RegisterArgs { owner, flags: 0 },
        )
        .unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (55, msg));
        // CREATE_LOCKSPACE needs no owner.
        call(
            &prog,
            &c,
            p::CREATE_LOCKSPACE,
            &lp::CreateLockSpaceArgs {
                path: dir.as_str().into(),
            },
        )
        .unwrap();
        assert!(std::path::Path::new(&dir).is_dir());
    }

    #[test]
    fn restricted_connections_can_do_nothing() {
        let (_t, dir, _d, prog) = setup();
        let c = Client::detached("virtlockd", false);
        register(&prog, &c, 1, 4242);
        call(&prog, &c, p::RESTRICT, &lp::RestrictArgs { flags: 0 }).unwrap();
        let msg = "operation forbidden: lock manager connection has been restricted";
        let e = call(
            &prog,
            &c,
            p::CREATE_LOCKSPACE,
            &lp::CreateLockSpaceArgs {
                path: dir.as_str().into(),
            },
        )
        .unwrap_err();
        assert_eq!((e.code, e.domain, e.message.as_str()), (29, 7, msg));
        let owner = Owner {
            id: 2,
            pid: 1,
            ..Default::default()
        };
        let e = call(
            &prog,
            &c,
            p::REGISTER,
            &lp::RegisterArgs { owner, flags: 0 },
        )
        .unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (29, msg));
        let e = call(&prog, &c, p::RESTRICT, &lp::RestrictArgs { flags: 0 }).unwrap_err();
        assert_eq!(e.code, 29);
        let e = call(&prog, &c, p::ACQUIRE_RESOURCE, &acquire_args("", "/x", 0)).unwrap_err();
        assert_eq!(e.code, 29);
    }

    #[test]
    fn unknown_lockspace_is_internal_error() {
        let (_t, dir, _d, prog) = setup();
        let c = Client::detached("virtlockd", false);
        register(&prog, &c, 1, 4242);
        let e = call(&prog, &c, p::ACQUIRE_RESOURCE, &acquire_args(&dir, "r", 2)).unwrap_err();
        assert_eq!((e.code, e.domain), (1, 7));
        assert_eq!(
            e.message,
            format!("internal error: Lockspace for path {dir} does not exist")
        );
        assert_eq!(e.str1.as_deref(), Some("internal error: %s"));
    }

    #[test]
    fn protocol_errors() {
        let (_t, _dir, _d, prog) = setup();
        let c = Client::detached("virtlockd", false);
        let e = call_raw(&prog, &c, 99, &[]).unwrap_err();
        assert_eq!(
            (e.code, e.domain, e.message.as_str()),
            (39, 7, "unknown procedure: 99")
        );
        let long = lp::CreateLockSpaceArgs {
            path: LockString("x".repeat(lp::STRING_MAX + 1)),
        };
        let e = call(&prog, &c, p::CREATE_LOCKSPACE, &long).unwrap_err();
        assert_eq!(
            (e.code, e.domain, e.message.as_str()),
            (39, 7, "Unable to decode message payload")
        );
        let e = call_raw(&prog, &c, p::REGISTER, &[0, 0]).unwrap_err();
        assert_eq!(e.message, "Unable to decode message payload");
        register(&prog, &c, 1, 4242);
        let e = call(&prog, &c, p::ACQUIRE_RESOURCE, &acquire_args("", "/x", 4)).unwrap_err();
        assert_eq!((e.code, e.domain), (8, 7));
        assert_eq!(
            e.message,
            "unsupported flags (0x4) in function virLockSpaceProtocolDispatchAcquireResource"
        );
        let e = call(&prog, &c, p::RESTRICT, &lp::RestrictArgs { flags: 1 }).unwrap_err();
        assert_eq!(e.code, 8);
        let e = call(
            &prog,
            &c,
            p::NEW,
            &lp::NewArgs {
                path: "".into(),
                flags: 0,
            },
        )
        .unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                55,
                "Requested operation is not valid: the default lockspace already exists"
            )
        );
    }

    #[test]
    fn register_acquire_release() {
        let (_t, dir, d, prog) = setup();
        let a = Client::detached("virtlockd", false);
        let b = Client::detached("virtlockd", false);
        register(&prog, &a, 1, 5001);
        register(&prog, &b, 2, 5002);
        let cl = lp::CreateLockSpaceArgs {
            path: dir.as_str().into(),
        };
        call(&prog, &a, p::CREATE_LOCKSPACE, &cl).unwrap();
        call(&prog, &b, p::CREATE_LOCKSPACE, &cl).unwrap();

        call(&prog, &a, p::ACQUIRE_RESOURCE, &acquire_args(&dir, "r", 2)).unwrap();
        assert_eq!(d.held_count(), 1);
        let e = call(&prog, &b, p::ACQUIRE_RESOURCE, &acquire_args(&dir, "r", 2)).unwrap_err();
        assert_eq!((e.code, e.domain), (87, 51));
        assert_eq!(e.message, "resource busy: Lockspace resource 'r' is locked");
        let e = call(&prog, &b, p::RELEASE_RESOURCE, &release_args(&dir, "r")).unwrap_err();
        assert_eq!(
            (e.code, e.domain, e.message.as_str()),
            (
                1,
                51,
                "internal error: owner 5002 does not hold the resource lock"
            )
        );
        let path = format!("{dir}/r");
        assert_eq!(
            crate::testutil::probe(path.as_ref()),
            Some((libc::F_WRLCK as i16, std::process::id() as i32))
        );
        call(&prog, &a, p::RELEASE_RESOURCE, &release_args(&dir, "r")).unwrap();
        assert_eq!(d.held_count(), 0);
        assert!(!std::path::Path::new(&path).exists());
        let e = call(&prog, &a, p::RELEASE_RESOURCE, &release_args(&dir, "r")).unwrap_err();
        assert_eq!(
            e.message,
            "resource busy: Lockspace resource 'r' is not locked"
        );

        // Shared leases of two owners; re-registering replaces the owner.
        call(&prog, &a, p::ACQUIRE_RESOURCE, &acquire_args(&dir, "s", 3)).unwrap();
        call(&prog, &b, p::ACQUIRE_RESOURCE, &acquire_args(&dir, "s", 3)).unwrap();
        register(&prog, &b, 3, 5003);
        let e = call(&prog, &b, p::RELEASE_RESOURCE, &release_args(&dir, "s")).unwrap_err();
        assert_eq!(e.code, 1);
        d.with_lockspace(&dir, |ls| {
            assert_eq!(ls.owners("s"), Some(&[5001, 5002][..]));
            Ok(())
        })
        .unwrap();
    }

    fn wait_exit(child: &mut std::process::Child, limit: Duration) -> bool {
        let start = Instant::now();
        for _ in 0..400 {
            if child.try_wait().unwrap().is_some() {
                return true;
            }
            if start.elapsed() > limit {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    #[test]
    fn client_closed_releases_and_fences() {
        let (_t, dir, d, prog) = setup();
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let c = Client::detached("virtlockd", false);
        register(&prog, &c, 1, child.id());
        let cl = lp::CreateLockSpaceArgs {
            path: dir.as_str().into(),
        };
        call(&prog, &c, p::CREATE_LOCKSPACE, &cl).unwrap();
        call(&prog, &c, p::ACQUIRE_RESOURCE, &acquire_args(&dir, "r", 2)).unwrap();
        call(&prog, &c, p::RESTRICT, &lp::RestrictArgs { flags: 0 }).unwrap();

        let start = Instant::now();
        prog.client_closed(&c);
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "fencing must not block"
        );
        assert_eq!(d.held_count(), 0);
        assert!(!std::path::Path::new(&format!("{dir}/r")).exists());
        let gone = wait_exit(&mut child, Duration::from_secs(4));
        if !gone {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(gone, "owner was not killed");
    }

    #[test]
    fn client_closed_without_leases_or_fencing_spares_the_owner() {
        let (_t, dir, d, prog) = setup();
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let c = Client::detached("virtlockd", false);
        register(&prog, &c, 1, child.id());
        // No leases: nothing to release, nobody killed.
        prog.client_closed(&c);
        // Leases but fencing off: released, not killed.
        let c2 = Client::detached("virtlockd", false);
        register(&prog, &c2, 1, child.id());
        let cl = lp::CreateLockSpaceArgs {
            path: dir.as_str().into(),
        };
        call(&prog, &c2, p::CREATE_LOCKSPACE, &cl).unwrap();
        call(&prog, &c2, p::ACQUIRE_RESOURCE, &acquire_args(&dir, "r", 2)).unwrap();
        d.set_fencing(false);
        prog.client_closed(&c2);
        assert_eq!(d.held_count(), 0);
        let died = wait_exit(&mut child, Duration::from_millis(500));
        let _ = child.kill();
        let _ = child.wait();
        assert!(!died);
        // An unregistered client closing does nothing.
        prog.client_closed(&Client::detached("virtlockd", false));
    }

    #[test]
    fn holder_is_the_owner_only_if_the_peer_is() {
        let p = ClientPriv {
            owner_id: 1,
            owner_pid: 300,
            ..Default::default()
        };
        assert_eq!(holder_pid(Some(300), &p), Some(300));
        assert_eq!(holder_pid(Some(301), &p), None);
        assert_eq!(holder_pid(None, &p), Some(300));
        let unregistered = ClientPriv::default();
        assert_eq!(holder_pid(Some(300), &unregistered), None);
        assert_eq!(holder_pid(None, &unregistered), None);
    }
}

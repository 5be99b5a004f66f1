//! Entry points for fuzzing the decoders an unauthenticated peer reaches, shared by the
//! cargo-fuzz targets in `fuzz/` and by the bounded smoke tests run with `cargo test`.
//!
//! [`remote_calls`] drives the REMOTE program in-process: it opens `test:///default` on a
//! detached client, then dispatches `(procedure, payload)` pairs cut from the input. Procedures
//! are picked from [`crate::remote::table::PROCS`] (plus raw numbers), so a procedure added to the
//! table is fuzzed with no new code: its argument decoder, its handler and the driver behind it.

use crate::remote::{programs, table};
use oxvirt_proto::remote::{self as r, procs as p};
use oxvirt_proto::{Header, MsgStatus, MsgType};
use oxvirt_rpc::program::Dispatched;
use oxvirt_rpc::Client;

fn header(proc_: i32, serial: u32) -> Header {
    Header {
        prog: r::PROGRAM,
        vers: r::VERSION,
        proc_,
        kind: MsgType::Call,
        serial,
        status: MsgStatus::Ok,
    }
}

/// Dispatch the calls encoded in `data` to the REMOTE program. Must run inside a tokio runtime
/// (the session's event forwarder is a task). Never panics on any input: a panic is a bug.
pub fn remote_calls(data: &[u8], readonly: bool) {
    let programs = programs(&crate::family::LIBVIRTD);
    let remote = &programs[0];
    let client = Client::detached("libvirtd", readonly);
    let open = oxvirt_xdr::to_bytes(&r::ConnectOpenArgs {
        name: Some("test:///default".into()),
        flags: 0,
    });
    run(remote.dispatch(&client, &header(p::CONNECT_OPEN, 0), &open, Vec::new()));
    let mut rest = data;
    let mut serial = 1;
    while rest.len() >= 3 && serial < 64 {
        let selector = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let len = (rest[2] as usize).min(rest.len() - 3);
        let body = &rest[3..3 + len];
        rest = &rest[3 + len..];
        // Mostly served procedures; sometimes any number at all.
        let proc_ = if selector < table::PROCS.len() * 8 {
            table::PROCS[selector % table::PROCS.len()].proc_
        } else {
            selector as i32 - 1000
        };
        if proc_ == p::CONNECT_CLOSE {
            continue;
        }
        run(remote.dispatch(&client, &header(proc_, serial), body, Vec::new()));
        serial += 1;
    }
    client.take_out();
    remote.client_closed(&client);
}

fn run(d: Dispatched) {
    if let Dispatched::Later(_) = d {
        // Not produced by the test driver's handlers; dropping the future cancels it.
    }
}

/// virtlogd's and virtlockd's programs: every procedure's argument decoder on arbitrary bytes,
/// and dispatch on a detached client wherever that cannot touch the file system (a fuzzer
/// must not create, lock or truncate files at paths it invents): all of virtlockd's checks
/// before a lockspace is used (flags, RESTRICT, REGISTER, unknown lockspaces), virtlogd's
/// position lookups and over-long reads.
pub fn support_calls(data: &[u8]) {
    use oxvirt_lockd::protocol as lk;
    use oxvirt_logd::protocol as lg;
    let logs = oxvirt_logd::LogHandler::new(oxvirt_logd::LogSettings::default());
    let log_prog = oxvirt_logd::program(logs);
    let locks = oxvirt_lockd::LockDaemon::new();
    locks.set_fencing(false);
    let lock_prog = oxvirt_lockd::program(locks);
    let log_client = Client::detached("virtlogd", false);
    let lock_client = Client::detached("virtlockd", false);
    let mut rest = data;
    let mut serial = 0;
    while rest.len() >= 3 && serial < 64 {
        let (sel, len) = (rest[0], (rest[1] as usize).min(rest.len() - 2));
        let body = &rest[2..2 + len];
        rest = &rest[2 + len..];
        serial += 1;
        let proc_ = (sel % 10) as i32;
        let h = |prog, proc_| Header {
            prog,
            vers: 1,
            proc_,
            kind: MsgType::Call,
            serial,
            status: MsgStatus::Ok,
        };
        if sel & 0x80 == 0 {
            // virtlockd.
            let safe = match proc_ {
                lk::procs::ACQUIRE_RESOURCE => {
                    oxvirt_xdr::from_bytes::<lk::AcquireResourceArgs>(body)
                        .is_ok_and(|a| !a.path.is_empty())
                }
                lk::procs::RELEASE_RESOURCE => {
                    oxvirt_xdr::from_bytes::<lk::ReleaseResourceArgs>(body)
                        .is_ok_and(|a| !a.path.is_empty())
                }
                lk::procs::CREATE_RESOURCE => {
                    let _ = oxvirt_xdr::from_bytes::<lk::CreateResourceArgs>(body);
                    false
                }
                lk::procs::DELETE_RESOURCE => {
                    let _ = oxvirt_xdr::from_bytes::<lk::DeleteResourceArgs>(body);
                    false
                }
                lk::procs::NEW => {
                    let _ = oxvirt_xdr::from_bytes::<lk::NewArgs>(body);
                    false
                }
                lk::procs::CREATE_LOCKSPACE => {
                    let _ = oxvirt_xdr::from_bytes::<lk::CreateLockSpaceArgs>(body);
                    false
                }
                _ => true,
            };
            if safe {
                run(lock_prog.dispatch(&lock_client, &h(lk::PROGRAM, proc_), body, Vec::new()));
            }
        } else {
            let safe = match proc_ {
                lg::procs::DOMAIN_GET_LOG_FILE_POSITION => true,
                lg::procs::DOMAIN_READ_LOG_FILE => {
                    oxvirt_xdr::from_bytes::<lg::ReadLogFileArgs>(body)
                        .is_ok_and(|a| a.maxlen > oxvirt_logd::protocol::STRING_MAX as u64)
                }
                lg::procs::DOMAIN_OPEN_LOG_FILE => {
                    let _ = oxvirt_xdr::from_bytes::<lg::OpenLogFileArgs>(body);
                    false
                }
                lg::procs::DOMAIN_APPEND_LOG_FILE => {
                    let _ = oxvirt_xdr::from_bytes::<lg::AppendLogFileArgs>(body);
                    false
                }
                _ => true,
            };
            if safe {
                run(log_prog.dispatch(&log_client, &h(lg::PROGRAM, proc_), body, Vec::new()));
            }
        }
    }
    log_client.take_out();
    lock_client.take_out();
    lock_prog.client_closed(&lock_client);
}

/// The ADMIN program: every procedure of [`oxvirt_proto::admin::procs::ALL`] (plus unknown
/// numbers) with arbitrary payloads, on a detached client listed on one of two servers.
/// CONNECT_SET_LOGGING_OUTPUTS is only decoded: its outputs may name files to open.
pub fn admin_calls(data: &[u8]) {
    use oxvirt_proto::admin::{self as a, procs as ap};
    let Ok(logging) = crate::logging::Logging::new("fuzz", 3, None, Some("3:stderr"), false) else {
        return;
    };
    let state = crate::admin::AdminState::new(logging, Default::default(), 0);
    let main = oxvirt_rpc::Server::new("libvirtd", Default::default(), Vec::new());
    let admin_srv = oxvirt_rpc::Server::new("admin", Default::default(), Vec::new());
    let listed = Client::detached("libvirtd", false);
    main.register_detached(&listed);
    state.set_servers(vec![main, admin_srv]);
    let prog = crate::admin::program(state);
    let client = Client::detached("admin", false);
    let mut rest = data;
    let mut serial = 0;
    while rest.len() >= 2 && serial < 64 {
        let (sel, len) = (rest[0] as usize, (rest[1] as usize).min(rest.len() - 2));
        let body = &rest[2..2 + len];
        rest = &rest[2 + len..];
        serial += 1;
        let proc_ = if sel < ap::ALL.len() * 10 {
            ap::ALL[sel % ap::ALL.len()]
        } else {
            sel as i32 - 230
        };
        if proc_ == ap::CONNECT_SET_LOGGING_OUTPUTS {
            let _ = oxvirt_xdr::from_bytes::<a::SetLoggingArgs>(body);
            continue;
        }
        let h = Header {
            prog: a::PROGRAM,
            vers: a::VERSION,
            proc_,
            kind: MsgType::Call,
            serial,
            status: MsgStatus::Ok,
        };
        run(prog.dispatch(&client, &h, body, Vec::new()));
    }
    client.take_out();
    listed.take_out();
}

/// Typed parameters (`remote_typed_param` lists, as REMOTE and ADMIN procedures carry them):
/// decoding is bounded, and what decodes encodes back to bytes that decode to the same value.
pub fn typed_params(data: &[u8]) {
    use oxvirt_proto::typed_param::{filter_for_flags, TypedParam};
    use oxvirt_xdr::Xdr;
    let Ok(params) = oxvirt_xdr::from_bytes::<Vec<TypedParam>>(data) else {
        return;
    };
    let bytes = oxvirt_xdr::to_bytes(&params);
    let again = oxvirt_xdr::from_bytes::<Vec<TypedParam>>(&bytes)
        .unwrap_or_else(|e| panic!("typed parameters we encoded do not decode: {e}"));
    assert_eq!(
        oxvirt_xdr::to_bytes(&again),
        bytes,
        "typed parameters changed across encode/decode"
    );
    for flags in [0, oxvirt_proto::typed_param::STRING_OKAY] {
        let kept = filter_for_flags(again.clone(), flags);
        assert!(kept.len() <= again.len());
    }
    let mut r = oxvirt_xdr::Reader::new(data);
    while let Ok(p) = TypedParam::decode(&mut r) {
        let _ = p;
    }
}

/// Frame-level decoding: the framer, the header, and the payload shapes every program shares.
pub fn frames(data: &[u8]) {
    if let Ok(oxvirt_rpc::frame::Parsed::Frame { len, header, .. }) = oxvirt_rpc::frame::parse(data)
    {
        let body = &data[oxvirt_rpc::frame::payload_offset(&header).min(len)..len];
        let _ = oxvirt_xdr::from_bytes::<oxvirt_proto::RemoteError>(body);
        let _ = oxvirt_xdr::from_bytes::<Vec<oxvirt_proto::typed_param::TypedParam>>(body);
        let _ = oxvirt_xdr::from_bytes::<oxvirt_proto::admin::ServerSetParamsArgs>(body);
    }
}

/// The conf grammar and the typed daemon configs.
pub fn conf(data: &[u8]) {
    if let Ok(f) = oxvirt_conf::ConfFile::parse_bytes("fuzz.conf", data) {
        let _ = oxvirt_conf::DaemonConfig::from_conf(&f, oxvirt_conf::DaemonKind::LIBVIRTD);
        let _ = oxvirt_conf::LogdConfig::from_conf(&f);
        let _ = oxvirt_conf::LockdConfig::from_conf(&f);
    }
}

/// The XML parsers of every object family. Invariant: XML that parses formats back to XML
/// that parses again (what `dumpxml` prints can always be defined again).
pub fn xml(data: &[u8]) {
    use oxvirt_driver_test as t;
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = t::DomainDef::parse(s) {
        let out = d.format(None);
        t::DomainDef::parse(&out)
            .unwrap_or_else(|e| panic!("domain XML we printed does not parse: {e}\n{out}"));
    }
    if let Ok(n) = t::network::NetworkDef::parse(s) {
        let out = n.to_xml();
        t::network::NetworkDef::parse(&out)
            .unwrap_or_else(|e| panic!("network XML we printed does not parse: {e}\n{out}"));
    }
    if let Ok(p) = t::storage::PoolDef::parse(s) {
        let out = p.to_xml(1 << 30, 0, 1 << 30);
        t::storage::PoolDef::parse(&out)
            .unwrap_or_else(|e| panic!("pool XML we printed does not parse: {e}\n{out}"));
    }
    if let Ok(v) = t::storage::Volume::parse(s, "/pool") {
        let out = v.to_xml();
        t::storage::Volume::parse(&out, "/pool")
            .unwrap_or_else(|e| panic!("volume XML we printed does not parse: {e}\n{out}"));
    }
    if let Ok(i) = t::interface::InterfaceDef::parse(s) {
        let out = i.to_xml();
        t::interface::InterfaceDef::parse(&out)
            .unwrap_or_else(|e| panic!("interface XML we printed does not parse: {e}\n{out}"));
    }
    if let Ok(n) = t::nodedev::NodeDevice::parse(s) {
        let out = n.to_xml();
        t::nodedev::NodeDevice::parse(&out)
            .unwrap_or_else(|e| panic!("node device XML we printed does not parse: {e}\n{out}"));
    }
}

/// Logging settings strings (admin-settable at run time).
pub fn log_settings(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::logging::Logging::new("fuzz", 3, Some(s), Some("3:stderr"), false);
    }
}

#[cfg(test)]
mod tests {
    //! Bounded smoke runs of the fuzz entry points over deterministic pseudo-random inputs, so
    //! every `cargo test` exercises them (the real fuzzing is `fuzz/`).

    fn corpus(seed: u64, n: usize) -> impl Iterator<Item = Vec<u8>> {
        let mut x = seed;
        (0..n).map(move |i| {
            let mut v = Vec::with_capacity(256);
            for _ in 0..(i % 256) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v.push(x as u8);
            }
            v
        })
    }

    #[test]
    fn remote_calls_survive_random_input() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _g = rt.enter();
        for (i, input) in corpus(0x9e37_79b9_7f4a_7c15, 3000).enumerate() {
            super::remote_calls(&input, i % 3 == 0);
        }
    }

    #[test]
    fn support_calls_survive_random_input() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _g = rt.enter();
        for input in corpus(0x51ed_2701, 3000) {
            super::support_calls(&input);
        }
    }

    /// Regressions (found by `scripts/fuzz.sh ci`): CONNECT_DAEMON_SHUTDOWN dispatched outside a
    /// tokio runtime panicked in `tokio::spawn`, and inside one without timers (as the fuzz
    /// target runs it) in `tokio::time::sleep`.
    #[test]
    fn admin_daemon_shutdown_outside_a_runtime() {
        super::admin_calls(&[0x3b, 0x52, 0, 0, 0, 0]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _g = rt.enter();
        super::admin_calls(&[0xfa, 0x22, 0, 0, 0, 0, 0, 0]);
        super::admin_calls(&[0x3b, 0x52, 0, 0, 0, 0]);
    }

    #[test]
    fn admin_calls_and_typed_params_survive_random_input() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _g = rt.enter();
        for input in corpus(0xad31_0690, 2000) {
            super::admin_calls(&input);
            super::typed_params(&input);
        }
        // Well-formed typed parameters of every type round-trip.
        use oxvirt_proto::typed_param::{TypedParam, TypedValue};
        let all = vec![
            TypedParam::new("i", TypedValue::Int(-1)),
            TypedParam::new("u", TypedValue::UInt(2)),
            TypedParam::new("l", TypedValue::LLong(-3)),
            TypedParam::new("ul", TypedValue::ULLong(4)),
            TypedParam::new("d", TypedValue::Double(0.5)),
            TypedParam::new("b", TypedValue::Boolean(true)),
            TypedParam::new("s", TypedValue::String("x".into())),
        ];
        super::typed_params(&oxvirt_xdr::to_bytes(&all));
    }

    #[test]
    fn frames_conf_and_logging_survive_random_input() {
        for input in corpus(42, 5000) {
            super::frames(&input);
            super::conf(&input);
            super::log_settings(&input);
        }
    }

    #[test]
    fn xml_round_trips_on_mutated_samples() {
        let samples = [
            "<domain type='test'><name>d</name><memory unit='MiB'>64</memory><vcpu current='1'>2</vcpu><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><source file='/x &amp; y'/><target dev='vda'/></disk></devices></domain>",
            "<network><name>n</name><bridge name='br0'/><ip address='10.0.0.1' netmask='255.0.0.0'/></network>",
            "<pool type='dir'><name>p</name><target><path>/p</path></target></pool>",
            "<volume><name>v</name><capacity unit='M'>10</capacity></volume>",
            "<interface type='ethernet' name='eth9'><mac address='aa:bb:cc:dd:ee:01'/></interface>",
            "<device><name>dev</name><parent>computer</parent><capability type='system'/></device>",
        ];
        let mut x: u64 = 7;
        for s in samples {
            super::xml(s.as_bytes());
            for _ in 0..400 {
                let mut b = s.as_bytes().to_vec();
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x as usize) % b.len();
                b[at] = (x >> 32) as u8 & 0x7f;
                super::xml(&b);
            }
        }
    }
}

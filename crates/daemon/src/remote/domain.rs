//! Domain procedures.

use super::convert::{dom, list_all, max_names};
use super::session::Session;
use crate::dispatch::{call, call_ref, call_ref_frame};
use oxvirt_driver_test::{DomainKey, DomainRef, DriverError};
use oxvirt_proto::remote::{self as r, limits, procs as p};
use oxvirt_proto::Header;
use oxvirt_rpc::program::Reply;
use oxvirt_rpc::Client;
use oxvirt_virerror::{ErrorDomain, VirError};
use oxvirt_xdr::CharArray;
use std::sync::Arc;

/// The key a decoded domain names its domain by (borrowed: no copy per call).
fn key(d: &r::Domain) -> DomainKey<'_> {
    DomainKey {
        name: &d.name,
        uuid: d.uuid.0,
    }
}

/// The key of a domain decoded borrowing from the message.
fn bkey(d: r::DomainRef<'_>) -> DomainKey<'_> {
    DomainKey {
        name: d.name,
        uuid: d.uuid.0,
    }
}

/// The reply `{ remote_nonnull_domain dom; }` for a driver's domain, encoded from it.
fn dom_reply(h: &Header, d: &oxvirt_driver_test::Domain) -> Vec<u8> {
    let w = r::DomainRef {
        name: &d.def.name,
        uuid: oxvirt_xdr::Uuid(d.def.uuid),
        id: d.id,
    };
    oxvirt_rpc::frame::reply_ok_with(h, w.wire_size(), |out| w.encode(out))
}

/// `VIR_DOMAIN_XML_SECURE`.
const XML_SECURE: u32 = 1;

/// Domain procedures; None if `h` is not one.
pub fn handle(sess: &Arc<Session>, client: &Arc<Client>, h: &Header, body: &[u8]) -> Option<Reply> {
    let conn = &sess.conn;
    let v = |e: DriverError| e.to_vir();
    let dom_ret = |d: DomainRef| r::DomainRet { dom: dom(d) };
    let int = |b: bool| r::IntRet { value: b as i32 };
    Some(match h.proc_ {
        p::CONNECT_LIST_ALL_DOMAINS => call(h, body, |a: r::ListAllArgs| {
            let all = conn.lock().domains.list_all(a.flags).map_err(v)?;
            let (domains, ret) = list_all(a.need_results, all.into_iter().map(dom).collect());
            Ok(r::ListAllDomainsRet { domains, ret })
        }),
        p::CONNECT_NUM_OF_DOMAINS => call(h, body, |_: ()| {
            Ok(r::IntRet {
                value: conn.lock().domains.num_of_domains() as i32,
            })
        }),
        p::CONNECT_NUM_OF_DEFINED_DOMAINS => call(h, body, |_: ()| {
            Ok(r::IntRet {
                value: conn.lock().domains.num_of_defined() as i32,
            })
        }),
        p::CONNECT_LIST_DOMAINS => call(h, body, |a: r::ListDomainsArgs| {
            let max = max_names(a.maxids, limits::DOMAIN_LIST_MAX, "REMOTE_DOMAIN_LIST_MAX")?;
            Ok(r::ListDomainsRet {
                ids: conn.lock().domains.list_domain_ids(max),
            })
        }),
        p::CONNECT_LIST_DEFINED_DOMAINS => call(h, body, |a: r::MaxNamesArgs| {
            let max = max_names(
                a.maxnames,
                limits::DOMAIN_LIST_MAX,
                "REMOTE_DOMAIN_LIST_MAX",
            )?;
            Ok(r::NamesRet {
                names: conn.lock().domains.list_defined(max),
            })
        }),
        // Lookups encode the reply from the driver's domain under its lock: no owned copy.
        p::DOMAIN_LOOKUP_BY_ID => call_ref_frame(h, body, |a: r::LookupByIdArgs| {
            let c = conn.lock();
            let d = c.domains.by_id(a.id).ok_or(DriverError::NoDomain(None));
            Ok(dom_reply(h, d.map_err(v)?))
        }),
        p::DOMAIN_LOOKUP_BY_NAME => call_ref_frame(h, body, |a: r::NameArgsRef| {
            let c = conn.lock();
            let d = c.domains.by_name(a.name).ok_or(DriverError::NoDomain(None));
            Ok(dom_reply(h, d.map_err(v)?))
        }),
        p::DOMAIN_LOOKUP_BY_UUID => call_ref_frame(h, body, |a: r::LookupByUuidArgs| {
            let c = conn.lock();
            let d = c
                .domains
                .by_uuid(&a.uuid.0)
                .ok_or(DriverError::NoDomain(None));
            Ok(dom_reply(h, d.map_err(v)?))
        }),
        p::DOMAIN_DEFINE_XML => call(h, body, |a: r::XmlArgs| {
            conn.lock().define_xml(&a.xml, 0).map(dom_ret).map_err(v)
        }),
        p::DOMAIN_DEFINE_XML_FLAGS => call(h, body, |a: r::XmlFlagsArgs| {
            conn.lock()
                .define_xml(&a.xml, a.flags)
                .map(dom_ret)
                .map_err(v)
        }),
        p::DOMAIN_CREATE_XML => call(h, body, |a: r::XmlFlagsArgs| {
            conn.lock()
                .create_xml(&a.xml, a.flags)
                .map(dom_ret)
                .map_err(v)
        }),
        p::DOMAIN_CREATE => call(h, body, |a: r::DomainArgs| {
            conn.lock().create(key(&a.dom), 0).map(|_| ()).map_err(v)
        }),
        p::DOMAIN_CREATE_WITH_FLAGS => call(h, body, |a: r::DomainFlagsArgs| {
            conn.lock()
                .create(key(&a.dom), a.flags)
                .map(dom_ret)
                .map_err(v)
        }),
        p::DOMAIN_DESTROY => call(h, body, |a: r::DomainArgs| {
            conn.lock().destroy(key(&a.dom), 0).map_err(v)
        }),
        p::DOMAIN_DESTROY_FLAGS => call(h, body, |a: r::DomainFlagsArgs| {
            conn.lock().destroy(key(&a.dom), a.flags).map_err(v)
        }),
        p::DOMAIN_SHUTDOWN => call(h, body, |a: r::DomainArgs| {
            conn.lock().shutdown(key(&a.dom), 0).map_err(v)
        }),
        p::DOMAIN_SHUTDOWN_FLAGS => call(h, body, |a: r::DomainFlagsArgs| {
            conn.lock().shutdown(key(&a.dom), a.flags).map_err(v)
        }),
        p::DOMAIN_REBOOT => call(h, body, |a: r::DomainFlagsArgs| {
            conn.lock().reboot(key(&a.dom), a.flags).map_err(v)
        }),
        p::DOMAIN_RESET => call(h, body, |a: r::DomainFlagsArgs| {
            conn.lock().reset(key(&a.dom), a.flags).map_err(v)
        }),
        p::DOMAIN_SUSPEND => call(h, body, |a: r::DomainArgs| {
            conn.lock().suspend(key(&a.dom)).map_err(v)
        }),
        p::DOMAIN_RESUME => call(h, body, |a: r::DomainArgs| {
            conn.lock().resume(key(&a.dom)).map_err(v)
        }),
        p::DOMAIN_UNDEFINE => call(h, body, |a: r::DomainArgs| {
            conn.lock().undefine(key(&a.dom), 0).map_err(v)
        }),
        p::DOMAIN_UNDEFINE_FLAGS => call(h, body, |a: r::DomainFlagsArgs| {
            conn.lock().undefine(key(&a.dom), a.flags).map_err(v)
        }),
        p::DOMAIN_GET_INFO => call_ref(h, body, |a: r::DomainArgsRef| {
            let i = conn.lock().get_info(bkey(a.dom)).map_err(v)?;
            Ok(r::DomainGetInfoRet {
                state: i.state as u32,
                max_mem: i.max_mem,
                memory: i.memory,
                nr_virt_cpu: i.nr_virt_cpu,
                cpu_time: i.cpu_time,
            })
        }),
        p::DOMAIN_GET_STATE => call_ref(h, body, |a: r::DomainFlagsArgsRef| {
            let (state, reason) = conn.lock().get_state(bkey(a.dom), a.flags).map_err(v)?;
            Ok(r::DomainGetStateRet { state, reason })
        }),
        p::DOMAIN_GET_XML_DESC => call_ref(h, body, |a: r::DomainFlagsArgsRef| {
            if a.flags & XML_SECURE != 0 && client.is_readonly() {
                return Err(VirError::with_detail(
                    oxvirt_virerror::ErrorCode::OperationDenied,
                    ErrorDomain::Domain,
                    "operation forbidden",
                    "virDomainGetXMLDesc with secure flag",
                ));
            }
            conn.lock()
                .get_xml_desc(bkey(a.dom), a.flags)
                .map(|value| r::StringRet { value })
                .map_err(v)
        }),
        p::DOMAIN_GET_OS_TYPE => call_ref(h, body, |a: r::DomainArgsRef| {
            conn.lock()
                .get_os_type(bkey(a.dom))
                .map(|value| r::StringRet { value })
                .map_err(v)
        }),
        p::DOMAIN_GET_MAX_MEMORY => call_ref(h, body, |a: r::DomainArgsRef| {
            conn.lock()
                .get_max_memory(bkey(a.dom))
                .map(|value| r::UHyperRet { value })
                .map_err(v)
        }),
        p::DOMAIN_GET_MAX_VCPUS => call_ref(h, body, |a: r::DomainArgsRef| {
            conn.lock()
                .get_max_vcpus(bkey(a.dom))
                .map(|n| r::IntRet { value: n as i32 })
                .map_err(v)
        }),
        p::DOMAIN_GET_AUTOSTART => call_ref(h, body, |a: r::DomainArgsRef| {
            conn.lock().get_autostart(bkey(a.dom)).map(int).map_err(v)
        }),
        p::DOMAIN_SET_AUTOSTART => call(h, body, |a: r::DomainSetAutostartArgs| {
            conn.lock()
                .set_autostart(key(&a.dom), a.autostart != 0)
                .map_err(v)
        }),
        p::DOMAIN_IS_ACTIVE => call_ref(h, body, |a: r::DomainArgsRef| {
            conn.lock().is_active(bkey(a.dom)).map(int).map_err(v)
        }),
        p::DOMAIN_IS_PERSISTENT => call_ref(h, body, |a: r::DomainArgsRef| {
            conn.lock().is_persistent(bkey(a.dom)).map(int).map_err(v)
        }),
        p::DOMAIN_IS_UPDATED => call_ref(h, body, |a: r::DomainArgsRef| {
            conn.lock().is_updated(bkey(a.dom)).map(int).map_err(v)
        }),
        p::DOMAIN_HAS_MANAGED_SAVE_IMAGE => call_ref(h, body, |a: r::DomainFlagsArgsRef| {
            conn.lock()
                .has_managed_save_image(bkey(a.dom), a.flags)
                .map(int)
                .map_err(v)
        }),
        p::DOMAIN_SNAPSHOT_NUM => call(h, body, |a: r::DomainFlagsArgs| {
            conn.lock()
                .snapshot_num(key(&a.dom), a.flags)
                .map(|value| r::IntRet { value })
                .map_err(v)
        }),
        p::DOMAIN_GET_MESSAGES => call(h, body, |a: r::DomainFlagsArgs| {
            conn.lock()
                .get_messages(key(&a.dom), a.flags)
                .map(|names| r::NamesRet { names })
                .map_err(v)
        }),
        p::DOMAIN_GET_SECURITY_LABEL => call(h, body, |a: r::DomainArgs| {
            let (label, enforcing) = conn.lock().security_label(key(&a.dom)).map_err(v)?;
            let label = if label.is_empty() {
                CharArray::default()
            } else {
                CharArray::c_string(&label)
            };
            Ok(r::DomainGetSecurityLabelRet {
                label,
                enforcing: enforcing as i32,
            })
        }),
        p::DOMAIN_SET_MEMORY => call(h, body, |a: r::DomainSetMemoryArgs| {
            conn.lock().set_memory(key(&a.dom), a.memory).map_err(v)
        }),
        p::DOMAIN_SET_MAX_MEMORY => call(h, body, |a: r::DomainSetMemoryArgs| {
            conn.lock().set_max_memory(key(&a.dom), a.memory).map_err(v)
        }),
        p::DOMAIN_SET_MEMORY_FLAGS => call(h, body, |a: r::DomainSetMemoryFlagsArgs| {
            conn.lock()
                .set_memory_flags(key(&a.dom), a.memory, a.flags)
                .map_err(v)
        }),
        p::DOMAIN_SET_VCPUS => call(h, body, |a: r::DomainSetVcpusArgs| {
            conn.lock().set_vcpus(key(&a.dom), a.nvcpus).map_err(v)
        }),
        p::DOMAIN_SET_VCPUS_FLAGS => call(h, body, |a: r::DomainSetVcpusFlagsArgs| {
            conn.lock()
                .set_vcpus_flags(key(&a.dom), a.nvcpus, a.flags)
                .map_err(v)
        }),
        p::DOMAIN_GET_VCPUS_FLAGS => call_ref(h, body, |a: r::DomainFlagsArgsRef| {
            conn.lock()
                .get_vcpus_flags(bkey(a.dom), a.flags)
                .map(|n| r::IntRet { value: n as i32 })
                .map_err(v)
        }),
        _ => return None,
    })
}

//! Network procedures.

use super::convert::{list_all, max_names, net};
use super::session::Session;
use crate::dispatch::call;
use oxvirt_driver_test::DriverError;
use oxvirt_proto::remote::{self as r, limits, procs as p};
use oxvirt_proto::Header;
use oxvirt_rpc::program::Reply;
use std::sync::Arc;

/// Network procedures; None if `h` is not one.
pub fn handle(sess: &Arc<Session>, h: &Header, body: &[u8]) -> Option<Reply> {
    let conn = &sess.conn;
    let v = |e: DriverError| e.to_vir();
    Some(match h.proc_ {
        p::CONNECT_LIST_ALL_NETWORKS => call(h, body, |a: r::ListAllArgs| {
            let all = conn.lock().networks.list_all(a.flags).map_err(v)?;
            let (nets, ret) = list_all(a.need_results, all.into_iter().map(net).collect());
            Ok(r::ListAllNetworksRet { nets, ret })
        }),
        p::CONNECT_NUM_OF_NETWORKS => call(h, body, |_: ()| {
            Ok(r::IntRet {
                value: conn.lock().networks.num_of_active() as i32,
            })
        }),
        p::CONNECT_NUM_OF_DEFINED_NETWORKS => call(h, body, |_: ()| {
            Ok(r::IntRet {
                value: conn.lock().networks.num_of_defined() as i32,
            })
        }),
        p::CONNECT_LIST_NETWORKS => call(h, body, |a: r::MaxNamesArgs| {
            let max = max_names(
                a.maxnames,
                limits::NETWORK_LIST_MAX,
                "REMOTE_NETWORK_LIST_MAX",
            )?;
            Ok(r::NamesRet {
                names: conn.lock().networks.list_active(max),
            })
        }),
        p::CONNECT_LIST_DEFINED_NETWORKS => call(h, body, |a: r::MaxNamesArgs| {
            let max = max_names(
                a.maxnames,
                limits::NETWORK_LIST_MAX,
                "REMOTE_NETWORK_LIST_MAX",
            )?;
            Ok(r::NamesRet {
                names: conn.lock().networks.list_defined(max),
            })
        }),
        p::NETWORK_LOOKUP_BY_NAME => call(h, body, |a: r::LookupByNameArgs| {
            conn.lock()
                .networks
                .lookup_by_name(&a.name)
                .map(|n| r::NetworkRet { net: net(n) })
                .map_err(v)
        }),
        p::NETWORK_LOOKUP_BY_UUID => call(h, body, |a: r::LookupByUuidArgs| {
            conn.lock()
                .networks
                .lookup_by_uuid(&a.uuid.0)
                .map(|n| r::NetworkRet { net: net(n) })
                .map_err(v)
        }),
        p::NETWORK_DEFINE_XML => call(h, body, |a: r::XmlArgs| {
            let st = &mut *conn.lock();
            st.networks
                .define_xml(&a.xml, 0, &st.events)
                .map(|n| r::NetworkRet { net: net(n) })
                .map_err(v)
        }),
        p::NETWORK_DEFINE_XML_FLAGS => call(h, body, |a: r::XmlFlagsArgs| {
            let st = &mut *conn.lock();
            st.networks
                .define_xml(&a.xml, a.flags, &st.events)
                .map(|n| r::NetworkRet { net: net(n) })
                .map_err(v)
        }),
        p::NETWORK_CREATE_XML => call(h, body, |a: r::XmlArgs| {
            let st = &mut *conn.lock();
            st.networks
                .create_xml(&a.xml, 0, &st.events)
                .map(|n| r::NetworkRet { net: net(n) })
                .map_err(v)
        }),
        p::NETWORK_CREATE => call(h, body, |a: r::NetworkArgs| {
            let st = &mut *conn.lock();
            st.networks.create(&a.net.name, &st.events).map_err(v)
        }),
        p::NETWORK_DESTROY => call(h, body, |a: r::NetworkArgs| {
            let st = &mut *conn.lock();
            st.networks.destroy(&a.net.name, &st.events).map_err(v)
        }),
        p::NETWORK_UNDEFINE => call(h, body, |a: r::NetworkArgs| {
            let st = &mut *conn.lock();
            st.networks.undefine(&a.net.name, &st.events).map_err(v)
        }),
        p::NETWORK_GET_XML_DESC => call(h, body, |a: r::NetworkFlagsArgs| {
            conn.lock()
                .networks
                .get_xml_desc(&a.net.name, a.flags)
                .map(|value| r::StringRet { value })
                .map_err(v)
        }),
        p::NETWORK_GET_BRIDGE_NAME => call(h, body, |a: r::NetworkArgs| {
            conn.lock()
                .networks
                .bridge_name(&a.net.name)
                .map(|value| r::StringRet { value })
                .map_err(v)
        }),
        p::NETWORK_GET_AUTOSTART => call(h, body, |a: r::NetworkArgs| {
            conn.lock()
                .networks
                .get_autostart(&a.net.name)
                .map(|b| r::IntRet { value: b as i32 })
                .map_err(v)
        }),
        p::NETWORK_SET_AUTOSTART => call(h, body, |a: r::NetworkSetAutostartArgs| {
            conn.lock()
                .networks
                .set_autostart(&a.net.name, a.autostart != 0)
                .map_err(v)
        }),
        p::NETWORK_IS_ACTIVE => call(h, body, |a: r::NetworkArgs| {
            conn.lock()
                .networks
                .is_active(&a.net.name)
                .map(|b| r::IntRet { value: b as i32 })
                .map_err(v)
        }),
        p::NETWORK_IS_PERSISTENT => call(h, body, |a: r::NetworkArgs| {
            conn.lock()
                .networks
                .is_persistent(&a.net.name)
                .map(|b| r::IntRet { value: b as i32 })
                .map_err(v)
        }),
        _ => return None,
    })
}

//! Host interface and node device procedures.

use super::convert::{iface, list_all, max_names, nodedev};
use super::session::Session;
use crate::dispatch::call;
use oxvirt_driver_test::DriverError;
use oxvirt_proto::remote::{self as r, limits, procs as p};
use oxvirt_proto::Header;
use oxvirt_rpc::program::Reply;
use std::sync::Arc;

/// Interface and node device procedures; None if `h` is not one.
pub fn handle(sess: &Arc<Session>, h: &Header, body: &[u8]) -> Option<Reply> {
    let conn = &sess.conn;
    let v = |e: DriverError| e.to_vir();
    let iface_ret = |i| r::InterfaceRet { iface: iface(i) };
    Some(match h.proc_ {
        p::CONNECT_LIST_ALL_INTERFACES => call(h, body, |a: r::ListAllArgs| {
            let all = conn.lock().ifaces.list_all(a.flags).map_err(v)?;
            let (ifaces, ret) = list_all(a.need_results, all.into_iter().map(iface).collect());
            Ok(r::ListAllInterfacesRet { ifaces, ret })
        }),
        p::CONNECT_NUM_OF_INTERFACES => call(h, body, |_: ()| {
            Ok(r::IntRet {
                value: conn.lock().ifaces.num_of_active() as i32,
            })
        }),
        p::CONNECT_NUM_OF_DEFINED_INTERFACES => call(h, body, |_: ()| {
            Ok(r::IntRet {
                value: conn.lock().ifaces.num_of_defined() as i32,
            })
        }),
        p::CONNECT_LIST_INTERFACES => call(h, body, |a: r::MaxNamesArgs| {
            let max = max_names(
                a.maxnames,
                limits::INTERFACE_LIST_MAX,
                "REMOTE_INTERFACE_LIST_MAX",
            )?;
            Ok(r::NamesRet {
                names: conn.lock().ifaces.list_active(max),
            })
        }),
        p::CONNECT_LIST_DEFINED_INTERFACES => call(h, body, |a: r::MaxNamesArgs| {
            let max = max_names(
                a.maxnames,
                limits::INTERFACE_LIST_MAX,
                "REMOTE_INTERFACE_LIST_MAX",
            )?;
            Ok(r::NamesRet {
                names: conn.lock().ifaces.list_defined(max),
            })
        }),
        p::INTERFACE_LOOKUP_BY_NAME => call(h, body, |a: r::LookupByNameArgs| {
            conn.lock()
                .ifaces
                .lookup_by_name(&a.name)
                .map(iface_ret)
                .map_err(v)
        }),
        p::INTERFACE_LOOKUP_BY_MAC_STRING => call(h, body, |a: r::LookupByNameArgs| {
            conn.lock()
                .ifaces
                .lookup_by_mac(&a.name)
                .map(iface_ret)
                .map_err(v)
        }),
        p::INTERFACE_GET_XML_DESC => call(h, body, |a: r::InterfaceFlagsArgs| {
            conn.lock()
                .ifaces
                .get_xml_desc(&a.iface.name, a.flags)
                .map(|value| r::StringRet { value })
                .map_err(v)
        }),
        p::INTERFACE_IS_ACTIVE => call(h, body, |a: r::InterfaceArgs| {
            conn.lock()
                .ifaces
                .is_active(&a.iface.name)
                .map(|b| r::IntRet { value: b as i32 })
                .map_err(v)
        }),
        p::INTERFACE_DEFINE_XML => call(h, body, |a: r::XmlFlagsArgs| {
            conn.lock()
                .ifaces
                .define_xml(&a.xml, a.flags)
                .map(iface_ret)
                .map_err(v)
        }),
        p::INTERFACE_UNDEFINE => call(h, body, |a: r::InterfaceArgs| {
            conn.lock().ifaces.undefine(&a.iface.name).map_err(v)
        }),
        p::INTERFACE_CREATE => call(h, body, |a: r::InterfaceFlagsArgs| {
            conn.lock().ifaces.create(&a.iface.name, a.flags).map_err(v)
        }),
        p::INTERFACE_DESTROY => call(h, body, |a: r::InterfaceFlagsArgs| {
            conn.lock()
                .ifaces
                .destroy(&a.iface.name, a.flags)
                .map_err(v)
        }),
        p::CONNECT_LIST_ALL_NODE_DEVICES => call(h, body, |a: r::ListAllArgs| {
            let all = conn.lock().nodedevs.list_all(a.flags).map_err(v)?;
            let (devices, ret) = list_all(a.need_results, all.into_iter().map(nodedev).collect());
            Ok(r::ListAllNodeDevicesRet { devices, ret })
        }),
        p::NODE_NUM_OF_DEVICES => call(h, body, |a: r::NodeNumOfDevicesArgs| {
            conn.lock()
                .nodedevs
                .num_of_devices(a.cap.as_deref(), a.flags)
                .map(|n| r::IntRet { value: n as i32 })
                .map_err(v)
        }),
        p::NODE_LIST_DEVICES => call(h, body, |a: r::NodeListDevicesArgs| {
            let max = max_names(
                a.maxnames,
                limits::NODE_DEVICE_LIST_MAX,
                "REMOTE_NODE_DEVICE_LIST_MAX",
            )?;
            conn.lock()
                .nodedevs
                .list_devices(a.cap.as_deref(), max, a.flags)
                .map(|names| r::NamesRet { names })
                .map_err(v)
        }),
        p::NODE_DEVICE_LOOKUP_BY_NAME => call(h, body, |a: r::LookupByNameArgs| {
            conn.lock()
                .nodedevs
                .lookup_by_name(&a.name)
                .map(|d| r::NodeDeviceRet { dev: nodedev(d) })
                .map_err(v)
        }),
        p::NODE_DEVICE_GET_XML_DESC => call(h, body, |a: r::NodeDeviceNameFlagsArgs| {
            conn.lock()
                .nodedevs
                .get_xml_desc(&a.name, a.flags)
                .map(|value| r::StringRet { value })
                .map_err(v)
        }),
        p::NODE_DEVICE_GET_PARENT => call(h, body, |a: r::NodeDeviceNameArgs| {
            conn.lock()
                .nodedevs
                .parent(&a.name)
                .map(|value| r::OptStringRet { value })
                .map_err(v)
        }),
        p::NODE_DEVICE_NUM_OF_CAPS => call(h, body, |a: r::NodeDeviceNameArgs| {
            conn.lock()
                .nodedevs
                .num_of_caps(&a.name)
                .map(|n| r::IntRet { value: n as i32 })
                .map_err(v)
        }),
        p::NODE_DEVICE_LIST_CAPS => call(h, body, |a: r::NodeDeviceListCapsArgs| {
            let max = max_names(
                a.maxnames,
                limits::NODE_DEVICE_CAPS_LIST_MAX,
                "REMOTE_NODE_DEVICE_CAPS_LIST_MAX",
            )?;
            conn.lock()
                .nodedevs
                .list_caps(&a.name, max)
                .map(|names| r::NamesRet { names })
                .map_err(v)
        }),
        _ => return None,
    })
}

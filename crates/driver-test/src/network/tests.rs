//! Unit tests of the network list against behaviour observed on libvirt 9.0's test driver.

use super::*;
use crate::test_util::{golden, vir};

const N1: &str = "<network><name>n1</name><bridge name='br1'/><ip address='10.0.0.1' \
    netmask='255.255.255.0'><dhcp><range start='10.0.0.2' end='10.0.0.9'/></dhcp></ip></network>";

fn drain(rx: &mut tokio::sync::broadcast::Receiver<DriverEvent>) -> Vec<(String, i32)> {
    let mut out = vec![];
    while let Ok(DriverEvent::NetworkLifecycle { net, event, .. }) = rx.try_recv() {
        out.push((net.name, event));
    }
    out
}

#[test]
fn default_network_matches_reference() {
    let l = NetworkList::defaults();
    assert_eq!(
        l.get_xml_desc("default", 0).unwrap(),
        golden("net_default.xml")
    );
    assert_eq!(l.bridge_name("default").unwrap(), "virbr0");
    assert!(l.is_active("default").unwrap() && l.is_persistent("default").unwrap());
    assert!(!l.get_autostart("default").unwrap());
    assert_eq!(
        (l.num_of_active(), l.list_active(10)),
        (1, vec!["default".to_string()])
    );
    assert_eq!(l.num_of_defined(), 0);
    let r = l.lookup_by_name("default").unwrap();
    assert_eq!(fmt_uuid(&r.uuid), "dd8fe884-6c02-601e-7551-cca97df1c5df");
    assert_eq!(l.lookup_by_uuid(&r.uuid).unwrap(), r);
}

#[test]
fn lookup_errors() {
    let l = NetworkList::defaults();
    assert_eq!(
        vir(l.lookup_by_name("nope").unwrap_err()),
        (
            43,
            12,
            "Network not found: no network with matching name 'nope'".into()
        )
    );
    let u = xmlutil::parse_uuid("11111111-2222-3333-4444-555555555555").unwrap();
    assert_eq!(
        vir(l.lookup_by_uuid(&u).unwrap_err()),
        (
            43,
            12,
            "Network not found: no network with matching uuid '11111111-2222-3333-4444-555555555555'"
                .into()
        )
    );
    assert_eq!(
        vir(l.get_xml_desc("default", 1).unwrap_err()),
        (
            8,
            12,
            "unsupported flags (0x1) in function testNetworkGetXMLDesc".into()
        )
    );
    assert_eq!(
        vir(l.list_all(64).unwrap_err()),
        (
            8,
            12,
            "unsupported flags (0x40) in function testConnectListAllNetworks".into()
        )
    );
}

#[test]
fn lifecycle_and_events() {
    let ev = EventSink::new();
    let mut rx = ev.subscribe();
    let mut l = NetworkList::defaults();
    let r = l.define_xml(N1, 0, &ev).unwrap();
    assert_eq!(
        drain(&mut rx),
        vec![("n1".to_string(), network_event::DEFINED)]
    );
    let xml = l.get_xml_desc("n1", 0).unwrap();
    let want = format!(
        "<network>\n  <name>n1</name>\n  <uuid>{}</uuid>\n  <bridge name='br1' stp='on' delay='0'/>\n  \
         <ip address='10.0.0.1' netmask='255.255.255.0'>\n    <dhcp>\n      \
         <range start='10.0.0.2' end='10.0.0.9'/>\n    </dhcp>\n  </ip>\n</network>\n",
        fmt_uuid(&r.uuid)
    );
    assert_eq!(xml, want);
    assert!(!l.is_active("n1").unwrap() && l.is_persistent("n1").unwrap());
    assert_eq!(l.list_defined(5), vec!["n1".to_string()]);
    // Destroying an inactive network succeeds and still raises STOPPED.
    l.destroy("n1", &ev).unwrap();
    assert_eq!(
        drain(&mut rx),
        vec![("n1".to_string(), network_event::STOPPED)]
    );
    l.set_autostart("n1", true).unwrap();
    let names = |v: Vec<NetworkRef>| v.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(names(l.list_all(list_flags::AUTOSTART).unwrap()), ["n1"]);
    assert_eq!(
        names(l.list_all(list_flags::NO_AUTOSTART).unwrap()),
        ["default"]
    );
    assert_eq!(names(l.list_all(list_flags::INACTIVE).unwrap()), ["n1"]);
    assert_eq!(names(l.list_all(0).unwrap()), ["default", "n1"]);
    l.create("n1", &ev).unwrap();
    assert_eq!(
        vir(l.create("n1", &ev).unwrap_err()),
        (
            55,
            12,
            "Requested operation is not valid: Network 'n1' is already running".into()
        )
    );
    assert_eq!(
        vir(l.undefine("n1", &ev).unwrap_err()),
        (
            55,
            12,
            "Requested operation is not valid: Network 'n1' is still running".into()
        )
    );
    l.destroy("n1", &ev).unwrap();
    l.undefine("n1", &ev).unwrap();
    assert_eq!(
        drain(&mut rx),
        vec![
            ("n1".to_string(), network_event::STARTED),
            ("n1".to_string(), network_event::STOPPED),
            ("n1".to_string(), network_event::UNDEFINED)
        ]
    );
    assert_eq!(
        vir(l.undefine("n1", &ev).unwrap_err()),
        (
            43,
            12,
            "Network not found: no network with matching name 'n1'".into()
        )
    );
}

#[test]
fn transient_network_vanishes() {
    let ev = EventSink::new();
    let mut rx = ev.subscribe();
    let mut l = NetworkList::defaults();
    l.create_xml(&N1.replace("n1", "t1"), 0, &ev).unwrap();
    assert!(l.is_active("t1").unwrap() && !l.is_persistent("t1").unwrap());
    let names = |v: Vec<NetworkRef>| v.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(names(l.list_all(list_flags::TRANSIENT).unwrap()), ["t1"]);
    assert_eq!(
        names(l.list_all(list_flags::PERSISTENT).unwrap()),
        ["default"]
    );
    assert!(l.undefine("t1", &ev).is_err());
    l.destroy("t1", &ev).unwrap();
    assert!(l.lookup_by_name("t1").is_err());
    assert_eq!(
        drain(&mut rx),
        vec![
            ("t1".to_string(), network_event::STARTED),
            ("t1".to_string(), network_event::STOPPED)
        ]
    );
}

#[test]
fn define_errors() {
    let ev = EventSink::new();
    let mut l = NetworkList::defaults();
    let dup = N1.replace("n1", "default");
    let msg = "operation failed: network 'default' already exists with uuid \
               dd8fe884-6c02-601e-7551-cca97df1c5df";
    assert_eq!(
        vir(l.define_xml(&dup, 0, &ev).unwrap_err()),
        (9, 19, msg.into())
    );
    assert_eq!(
        vir(l.create_xml(&dup, 0, &ev).unwrap_err()),
        (9, 19, msg.into())
    );
    let same_uuid =
        "<network><name>u3</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid></network>";
    assert_eq!(
        vir(l.define_xml(same_uuid, 0, &ev).unwrap_err()),
        (
            9,
            19,
            "operation failed: network 'default' is already defined with uuid \
             dd8fe884-6c02-601e-7551-cca97df1c5df"
                .into()
        )
    );
    assert_eq!(
        vir(l.define_xml("<network/>", 0, &ev).unwrap_err()),
        (21, 19, "missing name information".into())
    );
    assert_eq!(vir(l.define_xml("<network>", 0, &ev).unwrap_err()).0, 35);
    assert_eq!(
        vir(l.define_xml("<foo/>", 0, &ev).unwrap_err()),
        (
            27,
            5,
            "XML error: expecting root element of 'network', not 'foo'".into()
        )
    );
    assert_eq!(
        vir(l.define_xml(N1, 2, &ev).unwrap_err()),
        (
            8,
            12,
            "unsupported flags (0x2) in function testNetworkDefineXMLFlags".into()
        )
    );
    // Unknown elements are dropped; an isolated network gets the default bridge attributes.
    let u = "<network><name>u</name><foo a='1'>x</foo>\
             <uuid>11111111-2222-3333-4444-555555555555</uuid></network>";
    l.define_xml(u, VALIDATE, &ev).unwrap();
    assert_eq!(
        l.get_xml_desc("u", 0).unwrap(),
        "<network>\n  <name>u</name>\n  <uuid>11111111-2222-3333-4444-555555555555</uuid>\n  \
         <bridge stp='on' delay='0'/>\n</network>\n"
    );
}

#[test]
fn redefine_running_network_keeps_live_definition() {
    let ev = EventSink::new();
    let mut l = NetworkList::defaults();
    let x = "<network><name>default</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>\
             <bridge name='virbr9'/></network>";
    l.define_xml(x, 0, &ev).unwrap();
    assert_eq!(
        l.get_xml_desc("default", 0).unwrap(),
        golden("net_default.xml")
    );
    l.destroy("default", &ev).unwrap();
    assert_eq!(l.bridge_name("default").unwrap(), "virbr9");
}

#[test]
fn from_node_inline_and_file() {
    let dir = std::env::temp_dir().join(format!("oxvirt-net-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("net1.xml"),
        "<network><name>fnet</name><bridge name='virbr7'/></network>",
    )
    .unwrap();
    let text = "<node><network file='net1.xml'/><network><name>inl</name>\
                <uuid>004b96e1-2d78-c30f-5aa5-f03c87d21e70</uuid><bridge name='virbr5'/></network></node>";
    let doc = roxmltree::Document::parse(text).unwrap();
    let l = NetworkList::from_node(&doc.root_element(), &dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        l.list_active(10),
        vec!["fnet".to_string(), "inl".to_string()]
    );
    assert!(l.is_persistent("fnet").unwrap());
    assert_eq!(
        l.get_xml_desc("inl", 0).unwrap(),
        "<network>\n  <name>inl</name>\n  <uuid>004b96e1-2d78-c30f-5aa5-f03c87d21e70</uuid>\n  \
         <bridge name='virbr5' stp='on' delay='0'/>\n</network>\n"
    );
    let bad = roxmltree::Document::parse("<node><network file='missing.xml'/></node>").unwrap();
    assert!(NetworkList::from_node(&bad.root_element(), Path::new("/nonexistent")).is_err());
}

//! Unit tests of host interfaces against behaviour observed on libvirt 9.0's test driver.

use super::*;
use crate::test_util::{golden, vir};

const ETH2: &str = "<interface type='ethernet' name='eth2'><start mode='onboot'/>\
    <mac address='aa:bb:cc:dd:ee:00'/><mtu size='1500'/><protocol family='ipv4'>\
    <ip address='192.168.0.5' prefix='24'/><route gateway='192.168.0.1'/></protocol></interface>";

#[test]
fn default_interface_matches_reference() {
    let l = InterfaceList::defaults();
    assert_eq!(l.get_xml_desc("eth1", 0).unwrap(), golden("iface_eth1.xml"));
    let r = InterfaceRef {
        name: "eth1".into(),
        mac: "aa:bb:cc:dd:ee:ff".into(),
    };
    assert_eq!(l.lookup_by_name("eth1").unwrap(), r);
    assert_eq!(l.lookup_by_mac("AA:BB:CC:DD:EE:FF").unwrap(), r);
    assert!(l.is_active("eth1").unwrap());
    assert_eq!(
        (l.num_of_active(), l.list_active(5), l.num_of_defined()),
        (1, vec!["eth1".into()], 0)
    );
    assert_eq!(l.list_all(0).unwrap(), vec![r.clone()]);
    assert_eq!(l.list_all(list_flags::ACTIVE).unwrap(), vec![r]);
    assert!(l.list_all(list_flags::INACTIVE).unwrap().is_empty());
}

#[test]
fn errors() {
    let mut l = InterfaceList::defaults();
    assert_eq!(
        vir(l.lookup_by_name("nope").unwrap_err()),
        (
            57,
            12,
            "Interface not found: no interface with matching name 'nope'".into()
        )
    );
    assert_eq!(
        vir(l.lookup_by_mac("00:11:22:33:44:55").unwrap_err()),
        (
            57,
            12,
            "Interface not found: no interface with matching mac '00:11:22:33:44:55'".into()
        )
    );
    assert_eq!(
        vir(l.get_xml_desc("eth1", 1).unwrap_err()),
        (
            8,
            12,
            "unsupported flags (0x1) in function testInterfaceGetXMLDesc".into()
        )
    );
    assert_eq!(
        vir(l.list_all(4).unwrap_err()).2,
        "unsupported flags (0x4) in function testConnectListAllInterfaces"
    );
    assert_eq!(
        vir(l.create("eth1", 0).unwrap_err()),
        (55, 12, "Requested operation is not valid".into())
    );
    assert_eq!(vir(l.create("eth1", 1).unwrap_err()).0, 8);
    assert_eq!(vir(l.define_xml(ETH2, 2).unwrap_err()).0, 8);
    assert_eq!(vir(l.define_xml("<interface>", 0).unwrap_err()).0, 35);
    assert_eq!(
        vir(l.define_xml("<interface name='x'/>", 0).unwrap_err()),
        (
            27,
            5,
            "XML error: Missing required attribute 'type' in element 'interface'".into()
        )
    );
    assert_eq!(
        vir(l.define_xml("<interface type='ethernet'/>", 0).unwrap_err()),
        (27, 26, "XML error: interface has no name".into())
    );
    assert_eq!(
        vir(l.define_xml("<foo/>", 0).unwrap_err()).2,
        "XML error: expecting root element of 'interface', not 'foo'"
    );
}

#[test]
fn lifecycle() {
    let mut l = InterfaceList::defaults();
    l.define_xml(ETH2, 1).unwrap();
    assert_eq!(
        l.get_xml_desc("eth2", 0).unwrap(),
        "<interface type='ethernet' name='eth2'>\n  <start mode='onboot'/>\n  <mtu size='1500'/>\n  \
         <protocol family='ipv4'>\n    <ip address='192.168.0.5' prefix='24'/>\n    \
         <route gateway='192.168.0.1'/>\n  </protocol>\n  <mac address='aa:bb:cc:dd:ee:00'/>\n</interface>\n"
    );
    assert!(!l.is_active("eth2").unwrap());
    assert_eq!(l.list_defined(5), ["eth2"]);
    assert_eq!(
        vir(l.destroy("eth2", 0).unwrap_err()).2,
        "Requested operation is not valid"
    );
    l.define_xml(&ETH2.replace("eth2", "eth3"), 0).unwrap();
    assert_eq!(
        vir(l.lookup_by_mac("aa:bb:cc:dd:ee:00").unwrap_err()),
        (59, 12, "multiple matching interfaces found".into())
    );
    l.create("eth2", 0).unwrap();
    assert_eq!(l.list_all(list_flags::ACTIVE).unwrap().len(), 2);
    l.destroy("eth2", 0).unwrap();
    l.undefine("eth2").unwrap();
    assert_eq!(vir(l.undefine("eth2").unwrap_err()).0, 57);
    // Undefining an active interface is allowed by the test driver.
    l.undefine("eth1").unwrap();
}

#[test]
fn formats_bridge_bond_vlan_like_libvirt() {
    let mut l = InterfaceList::new();
    let br = "<interface type='bridge' name='br1'><protocol family='ipv6'><dhcp/></protocol>\
              <mac address='00:11:22:33:44:55'/><mtu size='9000'/><link speed='1000' state='up'/>\
              <start mode='none'/><bridge stp='on'><interface type='ethernet' name='eth9'/></bridge></interface>";
    l.define_xml(br, 0).unwrap();
    assert_eq!(
        l.get_xml_desc("br1", 0).unwrap(),
        "<interface type='bridge' name='br1'>\n  <start mode='none'/>\n  <mtu size='9000'/>\n  \
         <protocol family='ipv6'>\n    <dhcp/>\n  </protocol>\n  <bridge stp='on'>\n    \
         <interface type='ethernet' name='eth9'>\n    </interface>\n  </bridge>\n</interface>\n"
    );
    assert_eq!(l.lookup_by_name("br1").unwrap().mac, "");
    let eth = "<interface type='ethernet' name='e5'><link speed='1000' state='up'/>\
               <mac address='00:11:22:33:44:66'/><protocol family='ipv4'><dhcp/></protocol>\
               <start mode='hotplug'/><mtu size='9000'/></interface>";
    l.define_xml(eth, 0).unwrap();
    assert_eq!(
        l.get_xml_desc("e5", 0).unwrap(),
        "<interface type='ethernet' name='e5'>\n  <start mode='hotplug'/>\n  <mtu size='9000'/>\n  \
         <protocol family='ipv4'>\n    <dhcp/>\n  </protocol>\n  <link speed='1000' state='up'/>\n  \
         <mac address='00:11:22:33:44:66'/>\n</interface>\n"
    );
    let bond = "<interface type='bond' name='bond0'><start mode='none'/><protocol family='ipv4'>\
                <dhcp peerdns='yes'/></protocol><bond mode='active-backup'><miimon freq='100' \
                updelay='10' carrier='ioctl'/><interface type='ethernet' name='eth7'>\
                <mac address='ab:bb:cc:dd:ee:f1'/></interface></bond></interface>";
    l.define_xml(bond, 0).unwrap();
    assert_eq!(
        l.get_xml_desc("bond0", 0).unwrap(),
        "<interface type='bond' name='bond0'>\n  <start mode='none'/>\n  <protocol family='ipv4'>\n    \
         <dhcp peerdns='yes'/>\n  </protocol>\n  <bond mode='active-backup'>\n    \
         <miimon freq='100' updelay='10' carrier='ioctl'/>\n    <interface type='ethernet' name='eth7'>\n      \
         <mac address='ab:bb:cc:dd:ee:f1'/>\n    </interface>\n  </bond>\n</interface>\n"
    );
    let vlan =
        "<interface type='vlan' name='eth0.42'><start mode='onboot'/><protocol family='ipv4'>\
                <dhcp/></protocol><vlan tag='42'><interface name='eth0'/></vlan></interface>";
    l.define_xml(vlan, 0).unwrap();
    assert_eq!(
        l.get_xml_desc("eth0.42", 0).unwrap(),
        "<interface type='vlan' name='eth0.42'>\n  <start mode='onboot'/>\n  <protocol family='ipv4'>\n    \
         <dhcp/>\n  </protocol>\n  <vlan tag='42'>\n    <interface name='eth0'/>\n  </vlan>\n</interface>\n"
    );
    l.define_xml("<interface type='ethernet' name='e6'/>", 0)
        .unwrap();
    assert_eq!(
        l.get_xml_desc("e6", 0).unwrap(),
        "<interface type='ethernet' name='e6'>\n</interface>\n"
    );
}

#[test]
fn transactions() {
    let mut l = InterfaceList::defaults();
    assert_eq!(
        vir(l.change_rollback(0).unwrap_err()).2,
        "Requested operation is not valid: no transaction running, nothing to rollback."
    );
    assert_eq!(
        vir(l.change_commit(0).unwrap_err()).2,
        "Requested operation is not valid: no transaction running, nothing to be committed."
    );
    l.change_begin(0).unwrap();
    l.undefine("eth1").unwrap();
    l.change_rollback(0).unwrap();
    assert!(l.is_active("eth1").unwrap());
    l.change_begin(0).unwrap();
    assert!(l.change_begin(0).is_err());
    l.undefine("eth1").unwrap();
    l.change_commit(0).unwrap();
    assert!(l.lookup_by_name("eth1").is_err());
}

#[test]
fn from_node() {
    let text = "<node><interface type='ethernet' name='eth5'><mac address='aa:bb:cc:dd:ee:01'/>\
                </interface></node>";
    let doc = roxmltree::Document::parse(text).unwrap();
    let l = InterfaceList::from_node(&doc.root_element(), Path::new("/")).unwrap();
    assert!(l.is_active("eth5").unwrap());
    assert_eq!(
        l.get_xml_desc("eth5", 0).unwrap(),
        "<interface type='ethernet' name='eth5'>\n  <mac address='aa:bb:cc:dd:ee:01'/>\n</interface>\n"
    );
}

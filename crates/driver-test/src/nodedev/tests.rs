//! Unit tests of node devices against behaviour observed on libvirt 9.0's test driver.

use super::*;
use crate::test_util::{golden, vir};

fn names(v: Vec<NodeDeviceRef>) -> Vec<String> {
    v.into_iter().map(|r| r.name).collect()
}

const VHBA: &str = "<device><parent>scsi_host1</parent><capability type='scsi_host'>\
    <capability type='fc_host'><wwnn>2000000000000001</wwnn><wwpn>1000000000000001</wwpn>\
    </capability></capability></device>";

#[test]
fn defaults_match_reference() {
    let l = NodeDeviceList::defaults();
    for n in ["computer", "scsi_host1", "scsi_host11", "scsi_host2"] {
        assert_eq!(
            l.get_xml_desc(n, 0).unwrap(),
            golden(&format!("nodedev_{n}.xml")),
            "{n}"
        );
    }
    assert_eq!(
        names(l.list_all(0).unwrap()),
        ["scsi_host1", "scsi_host11", "scsi_host2", "computer"]
    );
    assert_eq!(l.parent("computer").unwrap(), None);
    assert_eq!(
        l.parent("scsi_host11").unwrap().as_deref(),
        Some("scsi_host1")
    );
    assert_eq!(
        (
            l.num_of_caps("scsi_host1").unwrap(),
            l.list_caps("scsi_host1", 9).unwrap()
        ),
        (1, vec!["scsi_host".into()])
    );
    assert_eq!(l.list_caps("computer", 9).unwrap(), ["system"]);
    assert_eq!(l.num_of_devices(None, 0).unwrap(), 4);
    assert_eq!(l.list_devices(Some("system"), 9, 0).unwrap(), ["computer"]);
    assert_eq!(
        l.list_devices(Some("vports"), 9, 0).unwrap(),
        ["scsi_host1", "scsi_host2"]
    );
    assert_eq!(l.list_devices(Some("fc_host"), 9, 0).unwrap().len(), 3);
    assert_eq!(l.num_of_devices(Some("pci"), 0).unwrap(), 0);
    assert_eq!(names(l.list_all(1).unwrap()), ["computer"]);
    assert_eq!(names(l.list_all(32).unwrap()).len(), 3);
    assert_eq!(
        names(l.list_all(1024).unwrap()),
        ["scsi_host1", "scsi_host2"]
    );
}

#[test]
fn errors() {
    let mut l = NodeDeviceList::defaults();
    assert_eq!(
        vir(l.lookup_by_name("nope").unwrap_err()),
        (
            53,
            12,
            "Node device not found: no node device with matching name 'nope'".into()
        )
    );
    assert_eq!(
        vir(l.list_all(0x8000_0000).unwrap_err()),
        (
            8,
            12,
            "unsupported flags (0x80000000) in function testConnectListAllNodeDevices".into()
        )
    );
    assert_eq!(vir(l.list_all(0x40_0000).unwrap_err()).0, 8);
    assert_eq!(
        vir(l.get_xml_desc("computer", 1).unwrap_err()).2,
        "unsupported flags (0x1) in function testNodeDeviceGetXMLDesc"
    );
    assert_eq!(
        vir(l.num_of_devices(None, 1).unwrap_err()).2,
        "unsupported flags (0x1) in function testNodeNumOfDevices"
    );
    assert_eq!(
        vir(l.create_xml("<device/>", 0).unwrap_err()),
        (
            1,
            22,
            "internal error: no device capabilities for 'new device'".into()
        )
    );
    assert_eq!(
        vir(l
            .create_xml(&VHBA.replace("scsi_host1<", "nope<"), 0)
            .unwrap_err()),
        (
            1,
            22,
            "internal error: Could not find parent device for 'new device'".into()
        )
    );
    assert_eq!(
        vir(l
            .create_xml(&VHBA.replace("scsi_host1<", "computer<"), 0)
            .unwrap_err())
        .2,
        "internal error: Parent device computer is not capable of vport operations"
    );
}

#[test]
fn vhba_create_and_destroy() {
    let mut l = NodeDeviceList::defaults();
    let r = l
        .create_xml(&VHBA.replace("scsi_host1<", "scsi_host2<"), 0)
        .unwrap();
    assert_eq!(r.name, "scsi_host12");
    assert_eq!(
        l.get_xml_desc("scsi_host12", 0).unwrap(),
        "<device>\n  <name>scsi_host12</name>\n  <parent>scsi_host1</parent>\n  \
         <capability type='scsi_host'>\n    <host>11</host>\n    <unique_id>10</unique_id>\n    \
         <capability type='fc_host'>\n      <wwnn>2000000000000001</wwnn>\n      \
         <wwpn>1000000000000001</wwpn>\n      <fabric_wwn>2000000043214321</fabric_wwn>\n    \
         </capability>\n  </capability>\n</device>\n"
    );
    l.create_xml(VHBA, 0).unwrap();
    assert_eq!(
        names(l.list_all(0).unwrap()),
        [
            "scsi_host1",
            "scsi_host11",
            "scsi_host2",
            "scsi_host12",
            "computer"
        ]
    );
    l.destroy("scsi_host12").unwrap();
    assert_eq!(vir(l.destroy("scsi_host12").unwrap_err()).0, 53);
    // Destroying a device without fc_host succeeds and changes nothing.
    l.destroy("computer").unwrap();
    l.destroy("scsi_host2").unwrap();
    l.destroy("scsi_host1").unwrap();
    assert_eq!(names(l.list_all(0).unwrap()), ["scsi_host11", "computer"]);
}

#[test]
fn from_node() {
    let text = "<node><device><name>pci_0000_00_01_0</name><parent>computer</parent>\
                <capability type='pci'><domain>0</domain><bus>0</bus><slot>1</slot>\
                <function>0</function><product id='0x7000'>82371SB PIIX3 ISA</product>\
                <vendor id='0x8086'>Intel</vendor></capability></device></node>";
    let doc = roxmltree::Document::parse(text).unwrap();
    let l = NodeDeviceList::from_node(&doc.root_element(), Path::new("/")).unwrap();
    assert_eq!(
        l.get_xml_desc("pci_0000_00_01_0", 0).unwrap(),
        "<device>\n  <name>pci_0000_00_01_0</name>\n  <parent>computer</parent>\n  \
         <capability type='pci'>\n    <domain>0</domain>\n    <bus>0</bus>\n    <slot>1</slot>\n    \
         <function>0</function>\n    <product id='0x7000'>82371SB PIIX3 ISA</product>\n    \
         <vendor id='0x8086'>Intel</vendor>\n  </capability>\n</device>\n"
    );
    assert_eq!(
        l.list_devices(Some("pci"), 5, 0).unwrap(),
        ["pci_0000_00_01_0"]
    );
}

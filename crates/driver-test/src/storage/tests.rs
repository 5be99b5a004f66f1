//! Unit tests of pools and volumes against behaviour observed on libvirt 9.0's test driver.

use super::*;
use crate::test_util::{golden, vir};

const DP: &str = "default-pool";

fn events(rx: &mut tokio::sync::broadcast::Receiver<DriverEvent>) -> Vec<(String, i32)> {
    let mut out = vec![];
    while let Ok(ev) = rx.try_recv() {
        match ev {
            DriverEvent::PoolLifecycle { pool, event, .. } => out.push((pool.name, event)),
            DriverEvent::PoolRefresh { pool } => out.push((pool.name, -1)),
            _ => {}
        }
    }
    out
}

fn info(state: i32, alloc: u64) -> PoolInfo {
    PoolInfo {
        state,
        capacity: POOL_CAPACITY,
        allocation: alloc,
        available: POOL_CAPACITY - alloc,
    }
}

const V1: &str = "<volume>\n  <name>v1</name>\n  <capacity>10485760</capacity>\n</volume>\n";

#[test]
fn default_pool_matches_reference() {
    let l = PoolList::defaults();
    assert_eq!(l.get_xml_desc(DP, 0).unwrap(), golden("pool_default.xml"));
    assert_eq!(l.get_info(DP).unwrap(), info(POOL_RUNNING, 0));
    assert!(l.is_active(DP).unwrap() && l.is_persistent(DP).unwrap());
    assert!(!l.get_autostart(DP).unwrap());
    assert_eq!(l.num_of_volumes(DP).unwrap(), 0);
    assert_eq!((l.num_of_active(), l.num_of_defined()), (1, 0));
    let r = l.lookup_by_name(DP).unwrap();
    assert_eq!(fmt_uuid(&r.uuid), "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566");
    assert_eq!(l.lookup_by_uuid(&r.uuid).unwrap(), r);
    assert_eq!(
        vir(l.get_xml_desc(DP, 1).unwrap_err()),
        (
            8,
            12,
            "unsupported flags (0x1) in function testStoragePoolGetXMLDesc".into()
        )
    );
    assert_eq!(
        vir(l.lookup_by_name("nope").unwrap_err()),
        (
            49,
            12,
            "Storage pool not found: no storage pool with matching name 'nope'".into()
        )
    );
    assert_eq!(vir(l.lookup_by_uuid(&[0x11; 16]).unwrap_err()).0, 49);
    assert_eq!(vir(l.list_all(1 << 20).unwrap_err()).0, 8);
}

#[test]
fn volume_create_info_delete() {
    let mut l = PoolList::defaults();
    let r = l.vol_create_xml(DP, V1, 0).unwrap();
    assert_eq!(
        r,
        VolRef {
            pool: DP.into(),
            name: "v1".into(),
            key: "/default-pool/v1".into()
        }
    );
    assert_eq!(
        l.vol_get_xml_desc(DP, "v1", 0).unwrap(),
        golden("vol_v1.xml")
    );
    assert_eq!(
        l.get_xml_desc(DP, 0).unwrap(),
        golden("pool_default_with_v1.xml")
    );
    assert_eq!(
        l.vol_get_info(DP, "v1").unwrap(),
        VolInfo {
            vol_type: 0,
            capacity: 10 << 20,
            allocation: 10 << 20
        }
    );
    assert_eq!(l.vol_get_path(DP, "v1").unwrap(), "/default-pool/v1");
    assert_eq!(l.vol_lookup_by_key("/default-pool/v1").unwrap(), r);
    assert_eq!(l.vol_lookup_by_path("/default-pool/v1").unwrap(), r);
    assert_eq!(l.lookup_by_volume(&r).unwrap().name, DP);
    assert_eq!(l.list_volumes(DP, 10).unwrap(), ["v1"]);
    assert_eq!(l.list_all_volumes(DP, 0).unwrap(), vec![r.clone()]);
    assert_eq!(
        vir(l.vol_create_xml(DP, V1, 0).unwrap_err()),
        (9, 12, "operation failed: storage vol already exists".into())
    );
    let clone =
        "<volume><name>v2</name><capacity>1000</capacity><allocation>500</allocation></volume>";
    l.vol_create_xml_from(DP, clone, &r, 0).unwrap();
    assert_eq!(l.get_info(DP).unwrap(), info(POOL_RUNNING, 10486260));
    let q = "<volume type='file'><name>v3</name><key>kkk</key><capacity unit='KiB'>4</capacity>\
             <allocation>0</allocation><target><path>/foo/bar</path><format type='qcow2'/>\
             <permissions><mode>0600</mode></permissions></target></volume>";
    l.vol_create_xml(DP, q, 0).unwrap();
    assert_eq!(
        l.vol_get_xml_desc(DP, "v3", 0).unwrap(),
        golden("vol_v3_qcow2.xml")
    );
    l.vol_delete(DP, "v1", 0).unwrap();
    assert_eq!(l.get_info(DP).unwrap(), info(POOL_RUNNING, 500));
    assert_eq!(
        vir(l.vol_delete(DP, "v1", 0).unwrap_err()),
        (
            50,
            12,
            "Storage volume not found: no storage vol with matching name 'v1'".into()
        )
    );
    assert_eq!(
        vir(l.vol_lookup_by_key("/nope").unwrap_err()).2,
        "Storage volume not found: no storage vol with matching key '/nope'"
    );
    assert_eq!(
        vir(l.vol_lookup_by_path("/nope").unwrap_err()).2,
        "Storage volume not found: no storage vol with matching path '/nope'"
    );
}

#[test]
fn volume_errors() {
    let mut l = PoolList::defaults();
    let e = |l: &mut PoolList, x: &str| vir(l.vol_create_xml(DP, x, 0).unwrap_err());
    assert_eq!(
        e(&mut l, "<volume><name>big</name><capacity unit='T'>1</capacity><allocation unit='G'>200</allocation></volume>"),
        (1, 12, "internal error: Not enough free space in pool for volume 'big'".into())
    );
    assert_eq!(
        e(&mut l, "<volume><capacity>1</capacity></volume>"),
        (27, 18, "XML error: missing volume name element".into())
    );
    assert_eq!(
        e(&mut l, "<volume><name>x</name></volume>"),
        (27, 18, "XML error: missing capacity element".into())
    );
    assert_eq!(
        e(
            &mut l,
            "<volume><name>x</name><capacity unit='Q'>1</capacity></volume>"
        ),
        (8, 0, "invalid argument: unknown suffix 'Q'".into())
    );
    assert_eq!(
        vir(l.vol_create_xml(DP, V1, 1).unwrap_err()).2,
        "unsupported flags (0x1) in function testStorageVolCreateXML"
    );
    // Capacity may exceed the free space; allocation may not.
    l.vol_create_xml(DP, "<volume><name>b</name><capacity unit='T'>1</capacity><allocation unit='M'>1</allocation></volume>", 0)
        .unwrap();
    assert_eq!(vir(l.vol_get_xml_desc(DP, "b", 1).unwrap_err()).0, 8);
    assert_eq!(vir(l.list_all_volumes(DP, 1).unwrap_err()).0, 8);
}

#[test]
fn inactive_pool_refuses_volume_operations() {
    let ev = EventSink::new();
    let mut l = PoolList::defaults();
    let r = l.vol_create_xml(DP, V1, 0).unwrap();
    l.destroy(DP, &ev).unwrap();
    let msg = (
        55,
        12,
        "Requested operation is not valid: storage pool 'default-pool' is not active".to_string(),
    );
    assert_eq!(vir(l.destroy(DP, &ev).unwrap_err()), msg);
    assert_eq!(vir(l.num_of_volumes(DP).unwrap_err()), msg);
    assert_eq!(vir(l.list_volumes(DP, 5).unwrap_err()), msg);
    assert_eq!(vir(l.vol_lookup_by_name(DP, "v1").unwrap_err()), msg);
    assert_eq!(vir(l.vol_create_xml(DP, V1, 0).unwrap_err()), msg);
    assert_eq!(vir(l.vol_get_info(DP, "v1").unwrap_err()), msg);
    assert_eq!(vir(l.vol_get_path(DP, "v1").unwrap_err()), msg);
    assert_eq!(vir(l.vol_delete(DP, "v1", 0).unwrap_err()), msg);
    assert_eq!(vir(l.refresh(DP, 0, &ev).unwrap_err()), msg);
    assert_eq!(
        vir(l.list_all_volumes(DP, 0).unwrap_err()).2,
        "Requested operation is not valid: storage pool is not active"
    );
    assert_eq!(vir(l.vol_lookup_by_key(&r.key).unwrap_err()).0, 50);
    assert_eq!(l.get_info(DP).unwrap(), info(POOL_INACTIVE, 10 << 20));
    l.build(DP, 0, &ev).unwrap();
    l.delete(DP, 0, &ev).unwrap();
    l.create(DP, 0, &ev).unwrap();
    assert_eq!(l.list_volumes(DP, 5).unwrap(), ["v1"]);
}

#[test]
fn pool_lifecycle_and_events() {
    let ev = EventSink::new();
    let mut rx = ev.subscribe();
    let mut l = PoolList::defaults();
    let active = (
        55,
        12,
        "Requested operation is not valid: storage pool 'default-pool' is active".to_string(),
    );
    assert_eq!(vir(l.create(DP, 0, &ev).unwrap_err()), active);
    assert_eq!(vir(l.undefine(DP, &ev).unwrap_err()), active);
    assert_eq!(vir(l.build(DP, 0, &ev).unwrap_err()), active);
    assert_eq!(vir(l.delete(DP, 0, &ev).unwrap_err()), active);
    let x = "<pool type='dir'><name>p2</name><target><path>/tmp/p2/</path></target></pool>";
    let r = l.define_xml(x, 1, &ev).unwrap();
    let want = format!(
        "<pool type='dir'>\n  <name>p2</name>\n  <uuid>{}</uuid>\n  <capacity unit='bytes'>107374182400</capacity>\n  \
         <allocation unit='bytes'>0</allocation>\n  <available unit='bytes'>107374182400</available>\n  \
         <source>\n  </source>\n  <target>\n    <path>/tmp/p2</path>\n  </target>\n</pool>\n",
        fmt_uuid(&r.uuid)
    );
    assert_eq!(l.get_xml_desc("p2", 0).unwrap(), want);
    assert_eq!(l.get_info("p2").unwrap(), info(POOL_INACTIVE, 0));
    assert_eq!(
        vir(l.define_xml(x, 0, &ev).unwrap_err()).2,
        format!(
            "operation failed: pool 'p2' already exists with uuid {}",
            fmt_uuid(&r.uuid)
        )
    );
    assert_eq!(
        vir(l
            .define_xml(&x.replace("<name>p2", "<name>p2c"), 0, &ev)
            .unwrap_err()),
        (
            9,
            18,
            "operation failed: Storage source conflict with pool: 'p2'".into()
        )
    );
    assert_eq!(vir(l.build("p2", 1, &ev).unwrap_err()).0, 8);
    l.build("p2", 0, &ev).unwrap();
    l.create("p2", 0, &ev).unwrap();
    l.refresh("p2", 0, &ev).unwrap();
    l.set_autostart("p2", true).unwrap();
    let names = |v: Vec<PoolRef>| v.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(names(l.list_all(list_flags::AUTOSTART).unwrap()), ["p2"]);
    assert_eq!(names(l.list_all(list_flags::NO_AUTOSTART).unwrap()), [DP]);
    assert_eq!(names(l.list_all(list_flags::DIR).unwrap()), [DP, "p2"]);
    assert!(l.list_all(list_flags::DIR << 1).unwrap().is_empty());
    l.destroy("p2", &ev).unwrap();
    l.delete("p2", 0, &ev).unwrap();
    l.undefine("p2", &ev).unwrap();
    assert_eq!(
        events(&mut rx),
        [
            ("p2", 0),
            ("p2", 4),
            ("p2", 2),
            ("p2", -1),
            ("p2", 3),
            ("p2", 5),
            ("p2", 1)
        ]
        .map(|(n, e)| (n.to_string(), e))
    );
    l.create_xml(&x.replace("p2", "t1"), 0, &ev).unwrap();
    assert!(l.is_active("t1").unwrap() && !l.is_persistent("t1").unwrap());
    assert_eq!(
        vir(l.set_autostart("t1", true).unwrap_err()),
        (8, 12, "invalid argument: pool has no config file".into())
    );
    l.destroy("t1", &ev).unwrap();
    assert_eq!(vir(l.lookup_by_name("t1").unwrap_err()).0, 49);
}

#[test]
fn pool_define_errors_and_other_types() {
    let ev = EventSink::new();
    let mut l = PoolList::defaults();
    let mut e = |x: &str| vir(l.define_xml(x, 0, &ev).unwrap_err());
    assert_eq!(e("<pool>").0, 35);
    assert_eq!(
        e("<pool><name>q</name><target><path>/q</path></target></pool>"),
        (
            27,
            5,
            "XML error: Missing required attribute 'type' in element 'pool'".into()
        )
    );
    assert_eq!(
        e("<pool type='foo'><name>q</name></pool>"),
        (
            27,
            5,
            "XML error: Invalid value for attribute 'type' in element 'pool': 'foo'.".into()
        )
    );
    assert_eq!(
        e("<pool type='dir'><target><path>/q</path></target></pool>"),
        (27, 18, "XML error: missing pool source name element".into())
    );
    assert_eq!(
        e("<pool type='dir'><name>q</name></pool>"),
        (27, 18, "XML error: missing storage pool target path".into())
    );
    assert_eq!(
        e("<foo/>"),
        (
            27,
            5,
            "XML error: expecting root element of 'pool', not 'foo'".into()
        )
    );
    let nfs = "<pool type='netfs'><name>nfs</name><source><host name='h'/><dir path='/x'/>\
               <format type='nfs'/></source><target><path>/mnt/x</path><permissions><mode>0755</mode>\
               <owner>0</owner><group>0</group></permissions></target><foo/></pool>";
    let r = l.define_xml(nfs, 0, &ev).unwrap();
    let want = format!(
        "<pool type='netfs'>\n  <name>nfs</name>\n  <uuid>{}</uuid>\n  <capacity unit='bytes'>107374182400</capacity>\n  \
         <allocation unit='bytes'>0</allocation>\n  <available unit='bytes'>107374182400</available>\n  \
         <source>\n    <host name='h'/>\n    <dir path='/x'/>\n    <format type='nfs'/>\n  </source>\n  \
         <target>\n    <path>/mnt/x</path>\n    <permissions>\n      <mode>0755</mode>\n      \
         <owner>0</owner>\n      <group>0</group>\n    </permissions>\n  </target>\n</pool>\n",
        fmt_uuid(&r.uuid)
    );
    assert_eq!(l.get_xml_desc("nfs", 0).unwrap(), want);
    assert_eq!(
        l.list_all(list_flags::DIR << 2)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect::<Vec<_>>(),
        ["nfs"]
    );
}

#[test]
fn from_node_with_volumes() {
    let dir = std::env::temp_dir().join(format!("oxvirt-pool-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("vol2.xml"),
        "<volume><name>v2</name><capacity>100</capacity><allocation>10</allocation></volume>",
    )
    .unwrap();
    let text =
        "<node><pool type='dir'><name>p1</name><uuid>35bb2ad9-388a-cdfe-461a-b8907f6e5301</uuid>\
                <capacity>1000</capacity><target><path>/p1</path></target><volume><name>vv</name>\
                <capacity unit='KiB'>1</capacity></volume><volume file='vol2.xml'/></pool></node>";
    let doc = roxmltree::Document::parse(text).unwrap();
    let l = PoolList::from_node(&doc.root_element(), &dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(l.get_info("p1").unwrap(), info(POOL_RUNNING, 1034));
    assert_eq!(l.list_volumes("p1", 9).unwrap(), ["vv", "v2"]);
    assert_eq!(
        l.vol_get_info("p1", "v2").unwrap(),
        VolInfo {
            vol_type: 0,
            capacity: 100,
            allocation: 10
        }
    );
    assert_eq!(l.vol_get_path("p1", "vv").unwrap(), "/p1/vv");
}

#[test]
fn pool_sources() {
    assert!(find_pool_sources("logical", None, 0)
        .unwrap()
        .contains("testvg2"));
    assert_eq!(
        find_pool_sources("netfs", Some("<source><host name='h'/></source>"), 0).unwrap(),
        "<sources>\n  <source>\n    <host name='h'/>\n    <dir path='/testshare'/>\n    \
         <format type='nfs'/>\n  </source>\n</sources>\n"
    );
    assert_eq!(
        vir(find_pool_sources("netfs", None, 0).unwrap_err()),
        (
            8,
            12,
            "invalid argument: hostname must be specified for netfs sources".into()
        )
    );
    assert_eq!(
        vir(find_pool_sources("dir", None, 0).unwrap_err()),
        (
            1,
            12,
            "internal error: unknown storage pool type dir".into()
        )
    );
    assert_eq!(vir(find_pool_sources("foo", None, 0).unwrap_err()).0, 3);
}

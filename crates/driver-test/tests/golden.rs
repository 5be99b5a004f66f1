//! Outputs compared byte for byte with what Debian's libvirt 9.0 reference daemon returned
//! (captured with python3-libvirt; see tests/golden/README.md).

use oxvirt_driver_test::{domain_xml::format_uuid, TestState};

fn golden(name: &str) -> String {
    let p = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn default_domain_xml() {
    let s = TestState::default_state();
    let t = s.domains.lookup_by_name("test").unwrap();
    assert_eq!(
        s.get_xml_desc(t.key(), 0).unwrap(),
        golden("python_test_xmldesc0.xml")
    );
    assert_eq!(
        s.get_xml_desc(t.key(), 1).unwrap(),
        golden("python_test_xmldesc0.xml")
    );
    assert_eq!(
        s.get_xml_desc(t.key(), 2).unwrap(),
        golden("python_test_xmldesc_inactive.xml")
    );
    assert_eq!(
        s.get_xml_desc(t.key(), 8).unwrap(),
        golden("python_test_xmldesc_migratable.xml")
    );
}

#[test]
fn minimal_domain_xml() {
    let xml = "<domain type='test'><name>demo</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>";
    let mut s = TestState::default_state();
    let d = s.define_xml(xml, 0).unwrap();
    let uuid = format_uuid(&d.uuid);
    let want = |f: &str| {
        let g = golden(f);
        let start = g.find("<uuid>").unwrap() + 6;
        format!("{}{uuid}{}", &g[..start], &g[start + 36..])
    };
    assert_eq!(
        s.get_xml_desc(d.key(), 0).unwrap(),
        want("demo_defined_dumpxml.xml")
    );
    let d = s.create(d.key(), 0).unwrap();
    assert_eq!(
        s.get_xml_desc(d.key(), 0).unwrap(),
        want("demo_running_dumpxml.xml")
    );
}

#[test]
fn host_outputs() {
    let s = TestState::default_state();
    assert_eq!(s.capabilities(), golden("python_capabilities.xml"));
    assert_eq!(s.sysinfo(0).unwrap(), golden("python_sysinfo.xml"));
    let n = s.node_info();
    // conn.getInfo() == ['i686', 3072, 16, 1400, 2, 2, 2, 2]
    assert_eq!(
        (
            n.model.as_str(),
            n.memory_kib / 1024,
            n.cpus,
            n.mhz,
            n.nodes,
            n.sockets,
            n.cores,
            n.threads
        ),
        ("i686", 3072, 16, 1400, 2, 2, 2, 2)
    );
    assert_eq!(s.free_memory(), 3145728);
}

#[test]
fn node_file_capabilities() {
    let dir = std::env::temp_dir().join(format!("oxvirt-dt-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("node1.xml"), golden("node1.xml")).unwrap();
    std::fs::write(dir.join("dom2.xml"), golden("dom2.xml")).unwrap();
    let s = TestState::from_node_file(&dir.join("node1.xml")).unwrap();
    assert_eq!(s.capabilities(), golden("node1_capabilities.xml"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Define `input`, compare dumpxml (active flags, inactive, and after `start` apart from the id)
/// with what the reference printed.
fn check_rich(input: &str, want: &str) {
    let mut s = TestState::default_state();
    let d = s
        .define_xml(&golden(input), 0)
        .unwrap_or_else(|e| panic!("{input}: {e}"));
    let want = golden(want);
    assert_eq!(s.get_xml_desc(d.key(), 0).unwrap(), want, "{input}");
    assert_eq!(
        s.get_xml_desc(d.key(), 2).unwrap(),
        want,
        "{input} inactive"
    );
    let d = s.create(d.key(), 0).unwrap();
    let got = s.get_xml_desc(d.key(), 0).unwrap();
    let (head, rest) = got.split_once('\n').unwrap();
    assert!(head.starts_with("<domain type='test' id='"), "{head}");
    assert_eq!(rest, want.split_once('\n').unwrap().1, "{input} running");
}

#[test]
fn rich_domain_xml() {
    check_rich("rich_input.xml", "rich_dumpxml.xml");
}

#[test]
fn rich_disks_xml() {
    check_rich("rich_disks_input.xml", "rich_disks_dumpxml.xml");
}

#[test]
fn rich_net_xml() {
    check_rich("rich_net_input.xml", "rich_net_dumpxml.xml");
}

#[test]
fn rich_graphics_xml() {
    check_rich("rich_gfx_input.xml", "rich_gfx_dumpxml.xml");
}

#[test]
fn rich_chardev_xml() {
    check_rich("rich_chr_input.xml", "rich_chr_dumpxml.xml");
}

#[test]
fn rich_misc_xml() {
    check_rich("rich_misc_input.xml", "rich_misc_dumpxml.xml");
}

#[test]
fn rich_cpu_defaults_xml() {
    check_rich("rich_cpu_input.xml", "rich_cpu_dumpxml.xml");
}

#[test]
fn rich_defaults_xml() {
    check_rich("rich_defaults_input.xml", "rich_defaults_dumpxml.xml");
}

#[test]
fn rich_full_xml() {
    check_rich("rich_full_input.xml", "rich_full_dumpxml.xml");
    // VIR_DOMAIN_XML_SECURE adds the graphics password.
    let def =
        oxvirt_driver_test::domain_xml::DomainDef::parse(&golden("rich_full_input.xml")).unwrap();
    assert_eq!(
        def.format_with(None, true),
        golden("rich_full_dumpxml_secure.xml")
    );
}

//! Tests of the domain operations against behaviour captured from the reference daemon
//! (tests/golden/reference_errors.json and the notes in tests/golden/README.md).

use super::*;
use crate::event::DriverEvent;

const DEMO: &str = "<domain type='test'><name>demo</name><uuid>11111111-2222-3333-4444-555555555555</uuid>\
    <memory unit='KiB'>131072</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>";

fn st() -> (TestState, tokio::sync::broadcast::Receiver<DriverEvent>) {
    let s = TestState::default_state();
    let rx = s.events.subscribe();
    (s, rx)
}

fn evs(rx: &mut tokio::sync::broadcast::Receiver<DriverEvent>) -> Vec<(String, i32, i32, i32)> {
    let mut v = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let DriverEvent::DomainLifecycle { dom, event, detail } = e {
            v.push((dom.name, dom.id, event, detail));
        }
    }
    v
}

fn e3(e: DriverError) -> (i32, i32, String) {
    let v = e.to_vir();
    (v.code, v.domain, v.message)
}

fn ev(n: &str, id: i32, e: i32, d: i32) -> (String, i32, i32, i32) {
    (n.to_string(), id, e, d)
}

#[test]
fn lifecycle_events_and_states() {
    let (mut s, mut rx) = st();
    let d = s.define_xml(DEMO, 0).unwrap();
    assert_eq!(d.id, -1);
    let d = s.define_xml(DEMO, 0).unwrap();
    assert_eq!(evs(&mut rx), [ev("demo", -1, 0, 0), ev("demo", -1, 0, 1)]);
    assert_eq!(s.get_state(d.key(), 0).unwrap(), (5, 0));
    let d = s.create(d.key(), 0).unwrap();
    assert_eq!(d.id, 2);
    assert_eq!(s.get_state(d.key(), 0).unwrap(), (1, 1));
    s.define_xml(&DEMO.replace("131072", "65536"), 0).unwrap();
    assert!(s
        .get_xml_desc(d.key(), 0)
        .unwrap()
        .contains(">131072</memory>"));
    assert!(s
        .get_xml_desc(d.key(), 2)
        .unwrap()
        .contains(">65536</memory>"));
    s.suspend(d.key()).unwrap();
    assert_eq!(s.get_state(d.key(), 0).unwrap(), (3, 1));
    s.resume(d.key()).unwrap();
    assert_eq!(s.get_state(d.key(), 0).unwrap(), (1, 5));
    s.reboot(d.key(), 0).unwrap();
    s.reset(d.key(), 0).unwrap();
    assert_eq!(s.get_state(d.key(), 0).unwrap(), (1, 1));
    s.shutdown(d.key(), 0).unwrap();
    assert_eq!(s.get_state(d.key(), 0).unwrap(), (5, 1));
    assert!(s
        .get_xml_desc(d.key(), 0)
        .unwrap()
        .contains(">65536</memory>"));
    let d = s.create(d.key(), 0).unwrap();
    assert_eq!(d.id, 3);
    s.destroy(d.key(), 1).unwrap();
    assert_eq!(s.get_state(d.key(), 0).unwrap(), (5, 2));
    assert_eq!(
        evs(&mut rx),
        [
            ev("demo", 2, 2, 0),
            ev("demo", 2, 0, 1),
            ev("demo", 2, 3, 0),
            ev("demo", 2, 4, 0),
            ev("demo", -1, 5, 0),
            ev("demo", 3, 2, 0),
            ev("demo", -1, 5, 1)
        ]
    );
    let d = s.create(d.key(), 0).unwrap();
    s.undefine(d.key(), 0).unwrap();
    assert!(!s.is_persistent(d.key()).unwrap());
    assert_eq!(s.domains.len(), 2);
    s.destroy(d.key(), 0).unwrap();
    assert_eq!(s.domains.len(), 1);
    assert_eq!(
        evs(&mut rx),
        [
            ev("demo", 4, 2, 0),
            ev("demo", 4, 1, 0),
            ev("demo", -1, 5, 1)
        ]
    );
}

#[test]
fn transient_domains() {
    let (mut s, mut rx) = st();
    let tr = s.create_xml(&DEMO.replace("demo", "tr"), 0).unwrap();
    assert_eq!(tr.id, 2);
    assert!(!s.is_persistent(tr.key()).unwrap());
    assert_eq!(s.get_state(tr.key(), 0).unwrap(), (1, 1));
    s.undefine(tr.key(), 0).unwrap();
    s.set_autostart(tr.key(), true).unwrap();
    assert!(s
        .get_xml_desc(tr.key(), 2)
        .unwrap()
        .starts_with("<domain type='test'>\n"));
    assert!(s
        .get_xml_desc(tr.key(), 0)
        .unwrap()
        .starts_with("<domain type='test' id='2'>\n"));
    s.suspend(tr.key()).unwrap();
    s.shutdown(tr.key(), 0).unwrap();
    assert_eq!(
        e3(s.get_state(tr.key(), 0).unwrap_err()),
        (42, 12, "Domain not found: no domain with matching uuid '11111111-2222-3333-4444-555555555555' (tr)".into())
    );
    assert_eq!(
        evs(&mut rx),
        [
            ev("tr", 2, 2, 0),
            ev("tr", 2, 1, 0),
            ev("tr", 2, 3, 0),
            ev("tr", -1, 5, 0)
        ]
    );
    // createXML then define makes it persistent (DEFINED ADDED).
    let d = s.create_xml(DEMO, 16).unwrap();
    assert_eq!(d.id, 3);
    s.define_xml(DEMO, 1).unwrap();
    assert!(s.is_persistent(d.key()).unwrap());
    assert_eq!(evs(&mut rx), [ev("demo", 3, 2, 0), ev("demo", 3, 0, 0)]);
    // on_reboot destroy powers off.
    let rd = s
        .create_xml(
            &DEMO
                .replace("demo", "rd")
                .replace("1111", "9999")
                .replace("</os>", "</os><on_reboot>destroy</on_reboot>"),
            0,
        )
        .unwrap();
    s.reboot(rd.key(), 0).unwrap();
    assert!(s.domains.by_name("rd").is_none());
    assert_eq!(evs(&mut rx), [ev("rd", 4, 2, 0), ev("rd", -1, 5, 0)]);
}

#[test]
fn managed_save() {
    let (mut s, mut rx) = st();
    let t = s.domains.lookup_by_name("test").unwrap();
    s.managed_save(t.key(), 1).unwrap();
    assert_eq!(s.get_state(t.key(), 0).unwrap(), (5, 5));
    assert!(s.has_managed_save_image(t.key(), 0).unwrap());
    assert_eq!(
        e3(s.undefine(t.key(), 0).unwrap_err()),
        (55, 12, "Requested operation is not valid: Refusing to undefine while domain managed save image exists".into())
    );
    let t = s.create(t.key(), 0).unwrap();
    assert!(!s.has_managed_save_image(t.key(), 0).unwrap());
    assert_eq!(evs(&mut rx), [ev("test", -1, 5, 4), ev("test", 2, 2, 0)]);
    let tr = s.create_xml(&DEMO.replace("demo", "tr"), 0).unwrap();
    assert_eq!(
        e3(s.managed_save(tr.key(), 0).unwrap_err()),
        (
            55,
            12,
            "Requested operation is not valid: cannot do managed save for transient domain".into()
        )
    );
    assert_eq!(
        e3(s.managed_save(tr.key(), 8).unwrap_err()).2,
        "unsupported flags (0x8) in function testDomainManagedSave"
    );
}

#[test]
fn reference_errors() {
    let (mut s, _rx) = st();
    let t = s.domains.lookup_by_name("test").unwrap();
    let internal = |m: &str| (1, 12, format!("internal error: {m}"));
    assert_eq!(
        e3(s.create(t.key(), 0).unwrap_err()),
        internal("Domain 'test' is already running")
    );
    assert_eq!(
        e3(s.resume(t.key()).unwrap_err()),
        internal("domain 'test' not paused")
    );
    s.suspend(t.key()).unwrap();
    assert_eq!(
        e3(s.suspend(t.key()).unwrap_err()),
        internal("domain 'test' not running")
    );
    s.resume(t.key()).unwrap();
    let dup = "<domain type='test'><name>test</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>1024</memory><os><type>hvm</type></os></domain>";
    let exists = (9, 20, "operation failed: domain 'test' already exists with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f".to_string());
    assert_eq!(e3(s.define_xml(dup, 0).unwrap_err()), exists);
    let dup2 = "<domain type='test'><name>test2</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><memory>1024</memory><os><type>hvm</type></os></domain>";
    assert_eq!(
        e3(s.define_xml(dup2, 0).unwrap_err()),
        (9, 20, "operation failed: domain 'test' is already defined with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f".into())
    );
    let noid = "<domain type='test'><name>test</name><memory>1024</memory><os><type>hvm</type></os></domain>";
    assert_eq!(e3(s.create_xml(noid, 0).unwrap_err()), exists);
    let same = "<domain type='test'><name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><memory>1024</memory><os><type>hvm</type></os></domain>";
    assert_eq!(
        e3(s.create_xml(same, 0).unwrap_err()),
        (
            55,
            20,
            "Requested operation is not valid: domain 'test' is already active".into()
        )
    );
    for f in [1, 2, 4] {
        assert_eq!(
            e3(s.create_xml(DEMO, f).unwrap_err()).2,
            format!("unsupported flags (0x{f:x}) in function testDomainCreateXML")
        );
    }
    assert_eq!(
        e3(s.define_xml(DEMO, 2).unwrap_err()).2,
        "unsupported flags (0x2) in function testDomainDefineXMLFlags"
    );
    assert_eq!(
        e3(s.create(t.key(), 1).unwrap_err()).2,
        "unsupported flags (0x1) in function testDomainCreateWithFlags"
    );
    assert_eq!(
        e3(s.shutdown(t.key(), 1).unwrap_err()).2,
        "unsupported flags (0x1) in function testDomainShutdownFlags"
    );
    assert_eq!(
        e3(s.destroy(t.key(), 2).unwrap_err()).2,
        "unsupported flags (0x2) in function testDomainDestroyFlags"
    );
    assert_eq!(
        e3(s.reset(t.key(), 1).unwrap_err()).2,
        "unsupported flags (0x1) in function testDomainReset"
    );
    assert_eq!(
        e3(s.undefine(t.key(), 4).unwrap_err()).2,
        "unsupported flags (0x4) in function testDomainUndefineFlags"
    );
    for f in [4, 16, 0x8000_0000u32] {
        assert_eq!(
            e3(s.get_xml_desc(t.key(), f).unwrap_err()),
            (
                8,
                12,
                format!("unsupported flags (0x{f:x}) in function testDomainGetXMLDesc")
            )
        );
    }
    s.destroy(t.key(), 0).unwrap();
    let not_running = (
        55,
        20,
        "Requested operation is not valid: domain is not running".to_string(),
    );
    assert_eq!(e3(s.destroy(t.key(), 0).unwrap_err()), not_running);
    assert_eq!(e3(s.reboot(t.key(), 0).unwrap_err()), not_running);
    assert_eq!(e3(s.reset(t.key(), 0).unwrap_err()), not_running);
    assert_eq!(e3(s.domain_hostname(t.key(), 0).unwrap_err()), not_running);
    assert_eq!(
        e3(s.shutdown(t.key(), 0).unwrap_err()),
        internal("domain 'test' not running")
    );
    assert_eq!(
        e3(s.suspend(t.key()).unwrap_err()),
        internal("domain 'test' not running")
    );
    assert_eq!(
        e3(s.resume(t.key()).unwrap_err()),
        internal("domain 'test' not paused")
    );
    assert_eq!(s.security_label(t.key()).unwrap(), (String::new(), false));
}

#[test]
fn info_and_queries() {
    let (mut s, _rx) = st();
    let t = s.domains.lookup_by_name("test").unwrap();
    let i = s.get_info(t.key()).unwrap();
    assert_eq!(
        (i.state, i.max_mem, i.memory, i.nr_virt_cpu),
        (1, 8388608, 2097152, 2)
    );
    assert!(i.cpu_time > 0 && s.get_info(t.key()).unwrap().cpu_time >= i.cpu_time);
    assert_eq!(s.get_os_type(t.key()).unwrap(), "linux");
    assert_eq!(s.get_max_memory(t.key()).unwrap(), 8388608);
    assert_eq!(s.get_max_vcpus(t.key()).unwrap(), 2);
    assert!(
        s.is_active(t.key()).unwrap()
            && s.is_persistent(t.key()).unwrap()
            && !s.is_updated(t.key()).unwrap()
    );
    assert!(!s.get_autostart(t.key()).unwrap());
    s.set_autostart(t.key(), true).unwrap();
    assert!(s.get_autostart(t.key()).unwrap());
    assert!(!s.has_managed_save_image(t.key(), 0).unwrap());
    assert_eq!(s.snapshot_num(t.key(), 0).unwrap(), 0);
    assert!(s.get_messages(t.key(), 0).unwrap().is_empty());
    assert_eq!(
        s.security_label(t.key()).unwrap(),
        ("libvirt-test".into(), true)
    );
    assert_eq!(s.security_model(), ("testSecurity".into(), String::new()));
    assert_eq!(s.domain_hostname(t.key(), 0).unwrap(), "testhost");
    assert_eq!(s.control_info(t.key(), 0).unwrap(), (0, 0, 0));
    assert_eq!(
        (
            s.get_type(),
            s.get_version(),
            s.max_vcpus(None),
            s.max_vcpus(Some("kvm"))
        ),
        ("TEST", 2, 32, 32)
    );
    assert_eq!(
        e3(s.sysinfo(1).unwrap_err()).2,
        "unsupported flags (0x1) in function testConnectGetSysinfo"
    );
    assert_eq!(
        e3(s.get_state(t.key(), 1).unwrap_err()).2,
        "unsupported flags (0x1) in function testDomainGetState"
    );
    assert_eq!(s.cpu_model_names("x86_64").len(), 58);
    assert_eq!(
        s.get_xml_desc(t.key(), 8).unwrap(),
        s.get_xml_desc(t.key(), 1).unwrap()
    );
    s.destroy(t.key(), 0).unwrap();
    let i = s.get_info(t.key()).unwrap();
    assert_eq!((i.state, i.nr_virt_cpu), (5, 2));
}

//! Memory and vCPU settings against the reference daemon's answers.

use super::*;

fn e3(e: DriverError) -> (i32, i32, String) {
    let v = e.to_vir();
    (v.code, v.domain, v.message)
}

fn vc(s: &TestState, r: DomainKey<'_>, flags: &[u32]) -> Vec<u32> {
    flags
        .iter()
        .map(|f| s.get_vcpus_flags(r, *f).unwrap())
        .collect()
}

#[test]
fn running_default_domain() {
    let mut s = TestState::default_state();
    let t = s.domains.lookup_by_name("test").unwrap();
    let above = (
        8,
        12,
        "invalid argument: cannot set memory higher than max memory".to_string(),
    );
    assert_eq!(e3(s.set_memory(t.key(), 9_000_000).unwrap_err()), above);
    assert_eq!(
        e3(s.set_memory_flags(t.key(), 9_000_000, 2).unwrap_err()),
        above
    );
    assert_eq!(
        e3(s.set_memory_flags(t.key(), 9_000_000, 5).unwrap_err()),
        (55, 12, "Requested operation is not valid: cannot resize the maximum memory on an active domain".into())
    );
    assert_eq!(e3(s.set_max_memory(t.key(), 1).unwrap_err()).0, 55);
    assert_eq!(
        e3(s.set_memory_flags(t.key(), 1, 3).unwrap_err()),
        (
            8,
            20,
            "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive"
                .into()
        )
    );
    assert_eq!(
        e3(s.set_memory_flags(t.key(), 1, 8).unwrap_err()).2,
        "unsupported flags (0x8) in function testDomainSetMemoryFlags"
    );
    s.set_memory_flags(t.key(), 9_000_000, 6).unwrap();
    s.set_memory(t.key(), 1024).unwrap();
    let i = s.get_info(t.key()).unwrap();
    assert_eq!((i.max_mem, i.memory), (8388608, 1024));
    let exceeds = (
        8,
        12,
        "invalid argument: requested cpu amount exceeds maximum (5 > 2)".to_string(),
    );
    assert_eq!(e3(s.set_vcpus(t.key(), 5).unwrap_err()), exceeds);
    assert_eq!(e3(s.set_vcpus_flags(t.key(), 5, 2).unwrap_err()), exceeds);
    let req = (
        8,
        20,
        "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'".to_string(),
    );
    assert_eq!(e3(s.set_vcpus_flags(t.key(), 5, 4).unwrap_err()), req);
    assert_eq!(e3(s.set_vcpus_flags(t.key(), 5, 5).unwrap_err()), req);
    s.set_vcpus_flags(t.key(), 5, 6).unwrap();
    s.set_vcpus(t.key(), 1).unwrap();
    assert_eq!(
        e3(s.set_vcpus(t.key(), 0).unwrap_err()),
        (8, 20, "nvcpus in virDomainSetVcpus must not be zero".into())
    );
    assert_eq!(vc(&s, t.key(), &[0, 1, 2, 4, 5, 6]), [1, 1, 2, 2, 2, 5]);
    assert_eq!(s.get_info(t.key()).unwrap().nr_virt_cpu, 1);
    for f in [8, 16, 32] {
        assert_eq!(
            e3(s.get_vcpus_flags(t.key(), f).unwrap_err()).2,
            format!("unsupported flags (0x{f:x}) in function testDomainGetVcpusFlags")
        );
    }
    let cfg = s.get_xml_desc(t.key(), 2).unwrap();
    assert!(cfg.contains("<memory unit='KiB'>9000000</memory>\n  <currentMemory unit='KiB'>2097152</currentMemory>\n  <vcpu placement='static' current='2'>5</vcpu>"));
    let live = s.get_xml_desc(t.key(), 0).unwrap();
    assert!(live.contains("<memory unit='KiB'>8388608</memory>\n  <currentMemory unit='KiB'>1024</currentMemory>\n  <vcpu placement='static' current='1'>2</vcpu>"));
    s.destroy(t.key(), 0).unwrap();
    let nr = (
        55,
        20,
        "Requested operation is not valid: domain is not running".to_string(),
    );
    assert_eq!(e3(s.set_memory(t.key(), 1024).unwrap_err()), nr);
    assert_eq!(e3(s.set_vcpus(t.key(), 1).unwrap_err()), nr);
    assert_eq!(e3(s.get_vcpus_flags(t.key(), 1).unwrap_err()), nr);
    assert_eq!(e3(s.get_max_vcpus(t.key()).unwrap_err()), nr);
    s.set_memory_flags(t.key(), 1024, 2).unwrap();
    let i = s.get_info(t.key()).unwrap();
    assert_eq!(
        (i.state, i.max_mem, i.memory, i.nr_virt_cpu),
        (5, 9000000, 1024, 2)
    );
    assert_eq!(vc(&s, t.key(), &[0, 2, 4, 6]), [2, 2, 5, 5]);
}

#[test]
fn inactive_then_running_then_transient() {
    let mut s = TestState::default_state();
    let z = s
        .define_xml("<domain type='test'><name>zeta</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>", 0)
        .unwrap();
    s.set_memory_flags(z.key(), 1000, 0).unwrap();
    assert_eq!(s.get_info(z.key()).unwrap().memory, 1000);
    s.set_memory_flags(z.key(), 100, 4).unwrap();
    let i = s.get_info(z.key()).unwrap();
    assert_eq!((i.max_mem, i.memory), (100, 100));
    s.set_memory_flags(z.key(), 200000, 6).unwrap();
    let i = s.get_info(z.key()).unwrap();
    assert_eq!((i.max_mem, i.memory), (200000, 100));
    s.set_vcpus_flags(z.key(), 1, 0).unwrap();
    s.set_vcpus_flags(z.key(), 4, 6).unwrap();
    s.set_vcpus_flags(z.key(), 3, 2).unwrap();
    assert_eq!(vc(&s, z.key(), &[0, 2, 4, 6]), [3, 3, 4, 4]);
    s.set_vcpus_flags(z.key(), 2, 6).unwrap();
    assert_eq!(vc(&s, z.key(), &[0, 2, 4, 6]), [2, 2, 2, 2]);
    assert_eq!(
        e3(s.set_vcpus_flags(z.key(), 40, 6).unwrap_err()),
        (
            8,
            12,
            "invalid argument: requested cpu amount exceeds maximum supported amount (40 > 32)"
                .into()
        )
    );
    assert_eq!(
        e3(s.set_vcpus_flags(z.key(), 0, 2).unwrap_err()).2,
        "nvcpus in virDomainSetVcpusFlags must not be zero"
    );
    s.set_vcpus_flags(z.key(), 32, 6).unwrap();
    assert_eq!(e3(s.set_vcpus_flags(z.key(), 1, 3).unwrap_err()).0, 55);
    assert_eq!(
        e3(s.set_vcpus_flags(z.key(), 1, 8).unwrap_err()).2,
        "unsupported flags (0x8) in function testDomainSetVcpusFlags"
    );
    s.set_max_memory(z.key(), 300000).unwrap();
    let z = s.create(z.key(), 0).unwrap();
    assert_eq!(s.get_max_vcpus(z.key()).unwrap(), 32);
    s.set_memory_flags(z.key(), 90000, 0).unwrap();
    s.set_vcpus_flags(z.key(), 2, 3).unwrap();
    s.set_vcpus_flags(z.key(), 6, 1).unwrap();
    assert_eq!(vc(&s, z.key(), &[0, 1, 2, 4, 5, 6]), [6, 6, 2, 32, 32, 32]);
    let i = s.get_info(z.key()).unwrap();
    assert_eq!((i.max_mem, i.memory, i.nr_virt_cpu), (300000, 90000, 6));
    s.undefine(z.key(), 0).unwrap();
    assert!(s
        .get_xml_desc(z.key(), 2)
        .unwrap()
        .contains("<currentMemory unit='KiB'>100</currentMemory>"));
    assert_eq!(vc(&s, z.key(), &[0, 1, 4, 5]), [6, 6, 32, 32]);
    let transient = (
        55,
        20,
        "Requested operation is not valid: transient domains do not have any persistent config"
            .to_string(),
    );
    assert_eq!(e3(s.get_vcpus_flags(z.key(), 2).unwrap_err()), transient);
    assert_eq!(
        e3(s.set_memory_flags(z.key(), 1000, 2).unwrap_err()),
        transient
    );
    assert_eq!(e3(s.set_vcpus_flags(z.key(), 1, 2).unwrap_err()), transient);
}

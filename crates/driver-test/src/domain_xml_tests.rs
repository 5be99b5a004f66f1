//! Domain XML parse/format tests (expected texts captured from the reference daemon).
use super::*;

const DEMO: &str = "<domain type='test'><name>demo</name><memory unit='KiB'>131072</memory>\
    <vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>";

#[test]
fn default_domain_round_trips() {
    let d = DomainDef::parse(DEFAULT_DOMAIN_XML).unwrap();
    assert_eq!(d.format(None), DEFAULT_DOMAIN_XML);
    assert_eq!(
        (d.max_mem_kib, d.cur_mem_kib, d.vcpus_max),
        (8388608, 2097152, 2)
    );
}

#[test]
fn minimal_domain_gets_defaults() {
    let d = DomainDef::parse(DEMO).unwrap();
    let out = d.format(Some(2));
    assert!(out.starts_with("<domain type='test' id='2'>\n  <name>demo</name>\n"));
    assert!(out.contains("  <currentMemory unit='KiB'>131072</currentMemory>\n"));
    assert!(out.contains("    <boot dev='hd'/>\n  </os>\n  <clock offset='utc'/>\n"));
    assert!(out.ends_with("  <devices>\n  </devices>\n</domain>\n"));
}

#[test]
fn units_vcpus_and_ordering() {
    let d = DomainDef::parse(
        "<domain type='test'><name>x</name><features><acpi/></features>\
         <devices><memballoon model='none'/><disk type='file'><target dev='vdb'/></disk></devices>\
         <bogus/><vcpu current='1'>3</vcpu><memory unit='MiB'>1</memory>\
         <currentMemory unit='GiB'>2</currentMemory><os><type machine='pc'>hvm</type>\
         <kernel>/k</kernel></os></domain>",
    )
    .unwrap();
    let out = d.format(None);
    assert!(out.contains("<memory unit='KiB'>1024</memory>\n  <currentMemory unit='KiB'>1024<"));
    assert!(out.contains("<vcpu placement='static' current='1'>3</vcpu>"));
    assert!(out.contains("<type arch='i686' machine='pc'>hvm</type>\n    <kernel>/k</kernel>\n  </os>\n  <features>\n    <acpi/>\n  </features>\n  <clock"));
    assert!(out.contains(
        "<devices>\n    <disk type='file' device='disk'>\n      <target dev='vdb' bus='virtio'/>\n    \
         </disk>\n    <memballoon model='none'/>\n"
    ));
    assert!(!out.contains("bogus"));
}

#[test]
fn interfaces_get_testnet_targets() {
    let d = DomainDef::parse(
        "<domain type='test'><name>x</name><memory>1</memory><os><type>hvm</type></os>\
         <devices><interface type='network'><mac address='52:54:00:11:22:33'/>\
         <source network='default'/><model type='virtio'/></interface>\
         <interface type='user'/><interface type='bridge'><target dev='vnet7'/></interface>\
         </devices></domain>",
    )
    .unwrap();
    let out = d.format(None);
    assert!(
        out.contains(
            "    <interface type='network'>\n      <mac address='52:54:00:11:22:33'/>\n      \
         <source network='default'/>\n      <target dev='testnet0'/>\n      \
         <model type='virtio'/>\n    </interface>\n    <interface type='user'>\n      \
         <mac address='52:54:00:"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "'/>\n      <target dev='testnet1'/>\n    </interface>\n    \
             <interface type='bridge'>\n      <mac address='52:54:00:"
        ),
        "{out}"
    );
    assert!(out.contains("'/>\n      <target dev='vnet7'/>\n"), "{out}");
}

#[test]
fn device_errors_match_reference() {
    let base = |devs: &str| {
        format!(
            "<domain type='test'><name>x</name><memory>1024</memory><os><type>hvm</type></os>\
             <devices>{devs}</devices></domain>"
        )
    };
    assert_eq!(
        err(&base("<disk type='file'/>")),
        (20, 20, "missing target information for device".into())
    );
    assert_eq!(
        err(&base("<console type='pty'/><console type='pty'/>")),
        (
            67,
            20,
            "unsupported configuration: Only the first console can be a serial port".into()
        )
    );
    assert_eq!(
        err(
            "<domain type='test'><name>x</name><memory>1024</memory><os><type>hvm</type>\
             <boot dev='hd'/></os><devices><disk type='file'><target dev='vda'/>\
             <boot order='1'/></disk></devices></domain>"
        ),
        (
            67,
            20,
            "unsupported configuration: per-device boot elements cannot be used together \
             with os/boot elements"
                .into()
        )
    );
}

fn err(xml: &str) -> (i32, i32, String) {
    let e = DomainDef::parse(xml).unwrap_err().to_vir();
    (e.code, e.domain, e.message)
}

#[test]
fn errors_match_reference() {
    assert_eq!(
        err("<domain type='test'><memory>1024</memory><os><type>hvm</type></os></domain>"),
        (21, 20, "missing name information".into())
    );
    assert_eq!(
        err("<domain><name>a</name><memory>1024</memory><os><type>hvm</type></os></domain>"),
        (
            1,
            20,
            "internal error: missing domain type attribute".into()
        )
    );
    assert_eq!(
        err("<domain type='test'><name>a</name><os><type>hvm</type></os></domain>"),
        (
            27,
            20,
            "XML error: Memory size must be specified via <memory> or in the <numa> configuration"
                .into()
        )
    );
    assert_eq!(
        err("<domain type='test'><name>a2</name><memory>1024</memory></domain>"),
        (27, 20, "XML error: an os <type> must be specified".into())
    );
    assert_eq!(
        err("<network><name>a3</name></network>"),
        (
            27,
            5,
            "XML error: expecting root element of 'domain', not 'network'".into()
        )
    );
    assert_eq!(
        err("<domain type='test'><name>a4</name><uuid>zz</uuid><memory>1024</memory><os><type>hvm</type></os></domain>"),
        (1, 20, "internal error: malformed uuid element".into())
    );
    assert_eq!(
        err("garbage"),
        (
            35,
            20,
            "(domain_definition):1: Start tag expected, '<' not found\ngarbage\n^".into()
        )
    );
    assert!(DomainDef::parse(
        "<domain type='kvm'><name>k</name><memory>1</memory><os><type>hvm</type></os></domain>"
    )
    .is_ok());
}

//! Top-level pieces of domain XML in libvirt's canonical form: `<os>` child order, `<cpu>`,
//! `<features>`.

use crate::domain_xml_el::El;

/// libvirt's order of the `<os>` children after `<type>`.
pub fn os_rank(name: &str) -> usize {
    const ORDER: &[&str] = &[
        "firmware",
        "loader",
        "nvram",
        "kernel",
        "initrd",
        "cmdline",
        "dtb",
        "acpi",
        "boot",
        "init",
        "initarg",
        "initenv",
        "initdir",
        "inituser",
        "initgroup",
        "bootmenu",
        "smbios",
        "bios",
    ];
    ORDER.iter().position(|o| *o == name).unwrap_or(ORDER.len())
}

/// `<cpu>` at indent 2: libvirt's attribute and child order, `dies='1'` in the topology.
pub fn cpu_string(node: &roxmltree::Node) -> String {
    let mut el = El::from_node(node);
    el.order_attrs(&["mode", "match", "check", "migratable"]);
    el.order_children(&[
        "model",
        "vendor",
        "topology",
        "cache",
        "maxphysaddr",
        "feature",
        "numa",
    ]);
    if let Some(t) = el.child_mut("topology") {
        if t.attr("dies").is_none() {
            t.set("dies", "1");
        }
        t.order_attrs(&["sockets", "dies", "cores", "threads"]);
    }
    el.to_string_at(2)
}

pub const BOOT_CONFLICT: &str =
    "per-device boot elements cannot be used together with os/boot elements";

pub fn os_extra_has_boot_dev(os: &Option<roxmltree::Node>) -> bool {
    os.as_ref().is_some_and(|o| {
        o.children()
            .any(|c| c.is_element() && c.tag_name().name() == "boot")
    })
}

/// libvirt's order of `<features>` children.
const FEATURE_ORDER: &[&str] = &[
    "acpi",
    "apic",
    "pae",
    "hap",
    "viridian",
    "privnet",
    "hyperv",
    "kvm",
    "pvspinlock",
    "capabilities",
    "pmu",
    "vmport",
    "gic",
    "smm",
    "ioapic",
    "hpt",
    "vmcoreinfo",
    "htm",
    "nested-hv",
    "msrs",
    "ccf-assist",
    "xen",
    "cfpc",
    "sbbc",
    "ibs",
    "tcg",
    "async-teardown",
];

/// `<features>` at indent 2 with its children in libvirt's order.
pub fn features_string(node: &roxmltree::Node) -> String {
    let mut el = El::from_node(node);
    el.order_children(FEATURE_ORDER);
    el.to_string_at(2)
}

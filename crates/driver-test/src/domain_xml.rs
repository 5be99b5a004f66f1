//! Domain XML: parsing what clients define and formatting it back as libvirt 9.0's test driver
//! prints it (`virsh dumpxml`). Elements the driver has no semantics for are kept as formatted
//! subtrees and emitted at libvirt's position for them; elements libvirt does not know are
//! dropped, as libvirt drops them.

use oxvirt_virerror::ErrorDomain;

use crate::domain_xml_devices;
use crate::domain_xml_el::El;
use crate::domain_xml_top::{
    cpu_string, features_string, os_extra_has_boot_dev, os_rank, BOOT_CONFLICT,
};
use crate::error::{DriverError, DriverResult};
use crate::xmlfmt::{self, element_string, escape, raw_error, xml_error, VIR_FROM_XML};

/// libvirt's order of the top-level elements of `<domain>` as its formatter writes them.
const TOP_ORDER: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
    "seclabel",
    "keywrap",
    "launchSecurity",
];

/// Hypervisor types libvirt's domain parser accepts in `<domain type=...>`.
const VIRT_TYPES: &[&str] = &[
    "none",
    "qemu",
    "kqemu",
    "kvm",
    "xen",
    "lxc",
    "uml",
    "openvz",
    "test",
    "vmware",
    "hyperv",
    "vbox",
    "phyp",
    "parallels",
    "bhyve",
    "vz",
];

/// The most vCPUs the test driver accepts (`virConnectGetMaxVcpus`).
pub const TEST_MAX_VCPUS: u32 = 32;

fn top_rank(name: &str) -> Option<usize> {
    TOP_ORDER.iter().position(|n| *n == name)
}

/// One domain definition (libvirt's `virDomainDef`), reduced to what the test driver uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainDef {
    /// `<domain type=...>`, e.g. "test".
    pub virt_type: String,
    pub name: String,
    pub uuid: [u8; 16],
    /// `<memory>` in KiB.
    pub max_mem_kib: u64,
    /// `<currentMemory>` in KiB (the balloon).
    pub cur_mem_kib: u64,
    /// `<vcpu>` (maximum).
    pub vcpus_max: u32,
    /// `<vcpu current=...>`.
    pub vcpus_cur: u32,
    /// `<vcpu placement=...>` (default "static").
    pub vcpu_placement: String,
    /// `<vcpu cpuset=...>`.
    pub vcpu_cpuset: Option<String>,
    /// `<os><type>`: "hvm", "xen", ...
    pub os_type: String,
    /// `<os><type arch=...>` (default "i686").
    pub arch: String,
    /// `<os><type machine=...>`.
    pub machine: Option<String>,
    /// The other `<os>` children, formatted at indent 4 (a default boot entry included).
    pub os_extra: Vec<String>,
    /// `<clock>` formatted at indent 2.
    pub clock: String,
    pub on_poweroff: String,
    pub on_reboot: String,
    pub on_crash: String,
    /// Other known top-level elements: (rank in libvirt's order, formatted at indent 2).
    pub extras: Vec<(usize, String)>,
    /// Devices: (rank in libvirt's device order, normalised element), in libvirt's order.
    pub devices: Vec<(usize, El)>,
}

fn child<'a, 'i>(node: &roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn child_text(node: &roxmltree::Node, name: &str) -> Option<String> {
    child(node, name).map(|c| c.text().unwrap_or("").trim().to_string())
}

/// Parse a UUID as libvirt does (hex digits with optional dashes).
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    uuid::Uuid::parse_str(s.trim()).ok().map(|u| *u.as_bytes())
}

/// Format a UUID in libvirt's lower-case dashed form.
pub fn format_uuid(u: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*u).hyphenated().to_string()
}

fn mem_of(node: &roxmltree::Node, what: &str) -> DriverResult<u64> {
    let text = node.text().unwrap_or("");
    xmlfmt::scaled_to_kib(text, node.attribute("unit")).ok_or_else(|| {
        xml_error(
            ErrorDomain::Domain as i32,
            format!("Invalid value for element or attribute '{what}'"),
        )
    })
}

impl DomainDef {
    /// Parse a domain XML document as `virDomainDefineXML` receives it.
    pub fn parse(xml: &str) -> DriverResult<DomainDef> {
        let doc = xmlfmt::parse_doc(xml, "(domain_definition)", ErrorDomain::Domain as i32)?;
        Self::from_node(&doc.root_element())
    }

    /// Parse a `<domain>` element (also used for domains embedded in node files).
    pub fn from_node(root: &roxmltree::Node) -> DriverResult<DomainDef> {
        let dom = ErrorDomain::Domain as i32;
        if root.tag_name().name() != "domain" {
            return Err(xml_error(
                VIR_FROM_XML,
                format!(
                    "expecting root element of 'domain', not '{}'",
                    root.tag_name().name()
                ),
            ));
        }
        let virt_type = match root.attribute("type") {
            None => {
                return Err(DriverError::Internal(
                    ErrorDomain::Domain,
                    "missing domain type attribute".into(),
                ))
            }
            Some(t) if !VIRT_TYPES.contains(&t) => {
                return Err(xml_error(dom, format!("invalid domain type {t}")))
            }
            Some(t) => t.to_string(),
        };
        let name = match child_text(root, "name") {
            Some(n) if !n.is_empty() => n,
            _ => return Err(raw_error(21, dom, "missing name information")),
        };
        let uuid = match child_text(root, "uuid") {
            None => *uuid::Uuid::new_v4().as_bytes(),
            Some(s) => parse_uuid(&s).ok_or_else(|| {
                DriverError::Internal(ErrorDomain::Domain, "malformed uuid element".into())
            })?,
        };
        let max_mem_kib = match child(root, "memory") {
            Some(m) => mem_of(&m, "memory")?,
            None => 0,
        };
        if max_mem_kib == 0 {
            return Err(xml_error(
                dom,
                "Memory size must be specified via <memory> or in the <numa> configuration",
            ));
        }
        let mut cur_mem_kib = match child(root, "currentMemory") {
            Some(m) => mem_of(&m, "currentMemory")?,
            None => max_mem_kib,
        };
        if cur_mem_kib == 0 || cur_mem_kib > max_mem_kib {
            cur_mem_kib = max_mem_kib;
        }
        let (mut vcpus_max, mut vcpus_cur, mut vcpu_placement, mut vcpu_cpuset) =
            (1, 1, "static".to_string(), None);
        if let Some(v) = child(root, "vcpu") {
            vcpus_max = v
                .text()
                .unwrap_or("1")
                .trim()
                .parse()
                .map_err(|_| xml_error(dom, "maximum vcpus count must be an integer"))?;
            vcpus_cur = match v.attribute("current") {
                Some(c) => c
                    .trim()
                    .parse()
                    .map_err(|_| xml_error(dom, "current vcpus count must be an integer"))?,
                None => vcpus_max,
            };
            if vcpus_max == 0 {
                return Err(xml_error(dom, "Invalid number of vCPUs '0'"));
            }
            if vcpus_cur == 0 || vcpus_cur > vcpus_max {
                vcpus_cur = vcpus_max;
            }
            if let Some(p) = v.attribute("placement") {
                vcpu_placement = p.to_string();
            }
            vcpu_cpuset = v.attribute("cpuset").map(str::to_string);
        }
        let os = child(root, "os");
        let os_type_node = os.as_ref().and_then(|o| child(o, "type"));
        let Some(tn) = os_type_node else {
            return Err(xml_error(dom, "an os <type> must be specified"));
        };
        let os_type = tn.text().unwrap_or("").trim().to_string();
        let arch = tn.attribute("arch").unwrap_or("i686").to_string();
        let machine = tn.attribute("machine").map(str::to_string);
        let mut os_extra = Vec::new();
        let mut has_boot = false;
        if let Some(o) = os {
            for c in o
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() != "type")
            {
                has_boot |= matches!(c.tag_name().name(), "boot" | "kernel");
                os_extra.push((os_rank(c.tag_name().name()), element_string(&c, 4)));
            }
        }
        os_extra.sort_by_key(|e| e.0);
        let mut os_extra: Vec<String> = os_extra.into_iter().map(|e| e.1).collect();
        let dev_boot =
            child(root, "devices").is_some_and(|d| domain_xml_devices::has_device_boot(&d));
        if dev_boot && os_extra_has_boot_dev(&os) {
            return Err(DriverError::Vir(oxvirt_virerror::VirError {
                code: oxvirt_virerror::ErrorCode::ConfigUnsupported as i32,
                domain: dom,
                message: format!("unsupported configuration: {BOOT_CONFLICT}"),
                level: 2,
                str1: Some("unsupported configuration: %s".to_string()),
                str2: Some(BOOT_CONFLICT.to_string()),
                str3: None,
                int1: -1,
                int2: -1,
            }));
        }
        if !has_boot && !dev_boot && os_type == "hvm" {
            os_extra.push("    <boot dev='hd'/>\n".to_string());
        }
        let clock = child(root, "clock")
            .map(|c| element_string(&c, 2))
            .unwrap_or_else(|| "  <clock offset='utc'/>\n".to_string());
        let action = |n: &str, d: &str| child_text(root, n).unwrap_or_else(|| d.to_string());
        let handled = [
            "name",
            "uuid",
            "memory",
            "currentMemory",
            "vcpu",
            "os",
            "clock",
            "on_poweroff",
            "on_reboot",
            "on_crash",
            "devices",
        ];
        let mut extras = Vec::new();
        for c in root.children().filter(|c| c.is_element()) {
            let n = c.tag_name().name();
            if handled.contains(&n) {
                continue;
            }
            if let Some(r) = top_rank(n) {
                let text = if n == "features" {
                    features_string(&c)
                } else if n == "cpu" {
                    cpu_string(&c)
                } else {
                    element_string(&c, 2)
                };
                extras.push((r, text));
            }
        }
        extras.sort_by_key(|e| e.0);
        let devices = match child(root, "devices") {
            Some(d) => domain_xml_devices::normalize(&d, os_type == "hvm")?,
            None => Vec::new(),
        };
        Ok(DomainDef {
            virt_type,
            name,
            uuid,
            max_mem_kib,
            cur_mem_kib,
            vcpus_max,
            vcpus_cur,
            vcpu_placement,
            vcpu_cpuset,
            os_type,
            arch,
            machine,
            os_extra,
            clock,
            on_poweroff: action("on_poweroff", "destroy"),
            on_reboot: action("on_reboot", "restart"),
            on_crash: action("on_crash", "destroy"),
            extras,
            devices,
        })
    }

    /// Format as libvirt does; `id` is the running domain's id (omitted when `None`).
    pub fn format(&self, id: Option<i32>) -> String {
        self.format_with(id, false)
    }

    /// [`DomainDef::format`]; `secure` (VIR_DOMAIN_XML_SECURE) includes graphics passwords.
    pub fn format_with(&self, id: Option<i32>, secure: bool) -> String {
        let mut s = String::with_capacity(1024);
        s.push_str(&format!("<domain type='{}'", escape(&self.virt_type)));
        if let Some(id) = id {
            s.push_str(&format!(" id='{id}'"));
        }
        s.push_str(">\n");
        s.push_str(&format!("  <name>{}</name>\n", escape(&self.name)));
        s.push_str(&format!("  <uuid>{}</uuid>\n", format_uuid(&self.uuid)));
        let rank = |n: &str| top_rank(n).unwrap_or(0);
        let mut extras = self.extras.iter().peekable();
        let mut flush_before = |s: &mut String, limit: usize| {
            while let Some((r, text)) = extras.next_if(|e| e.0 < limit) {
                let _ = r;
                s.push_str(text);
            }
        };
        flush_before(&mut s, rank("memory"));
        s.push_str(&format!(
            "  <memory unit='KiB'>{}</memory>\n",
            self.max_mem_kib
        ));
        s.push_str(&format!(
            "  <currentMemory unit='KiB'>{}</currentMemory>\n",
            self.cur_mem_kib
        ));
        flush_before(&mut s, rank("vcpu"));
        s.push_str(&format!(
            "  <vcpu placement='{}'",
            escape(&self.vcpu_placement)
        ));
        if let Some(c) = &self.vcpu_cpuset {
            s.push_str(&format!(" cpuset='{}'", escape(c)));
        }
        if self.vcpus_cur != self.vcpus_max {
            s.push_str(&format!(" current='{}'", self.vcpus_cur));
        }
        s.push_str(&format!(">{}</vcpu>\n", self.vcpus_max));
        flush_before(&mut s, rank("os"));
        s.push_str("  <os>\n");
        s.push_str(&format!("    <type arch='{}'", escape(&self.arch)));
        if let Some(m) = &self.machine {
            s.push_str(&format!(" machine='{}'", escape(m)));
        }
        s.push_str(&format!(">{}</type>\n", escape(&self.os_type)));
        for e in &self.os_extra {
            s.push_str(e);
        }
        s.push_str("  </os>\n");
        flush_before(&mut s, rank("clock"));
        s.push_str(&self.clock);
        s.push_str(&format!(
            "  <on_poweroff>{}</on_poweroff>\n",
            escape(&self.on_poweroff)
        ));
        s.push_str(&format!(
            "  <on_reboot>{}</on_reboot>\n",
            escape(&self.on_reboot)
        ));
        s.push_str(&format!(
            "  <on_crash>{}</on_crash>\n",
            escape(&self.on_crash)
        ));
        flush_before(&mut s, rank("devices"));
        s.push_str("  <devices>\n");
        for (_, d) in &self.devices {
            domain_xml_devices::format_device(d, secure, &mut s);
        }
        s.push_str("  </devices>\n");
        flush_before(&mut s, usize::MAX);
        s.push_str("</domain>\n");
        s
    }
}

/// The XML of libvirt's default `test` domain (as its dumpxml shows it).
pub const DEFAULT_DOMAIN_XML: &str = "<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
";

#[cfg(test)]
#[path = "domain_xml_tests.rs"]
mod tests;

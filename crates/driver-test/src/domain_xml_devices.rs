//! `<devices>` of a domain as libvirt 9.0's test driver stores and prints them: devices sorted
//! by kind (disks by bus and name), implicit disk and virtio-serial controllers, drive addresses,
//! serial/console pairing, graphics listen entries, a default video card, libvirt's attribute
//! and child order for the common devices. Observed behaviour, captured in tests/golden/rich_*.

use oxvirt_virerror::ErrorDomain;

use crate::domain_xml_chr::fix_chardevs;
use crate::domain_xml_el::El;
use crate::error::DriverResult;
use crate::xmlfmt::raw_error;

/// libvirt's order of device kinds inside `<devices>`.
pub const DEVICE_ORDER: &[&str] = &[
    "emulator",
    "disk",
    "controller",
    "lease",
    "filesystem",
    "interface",
    "smartcard",
    "serial",
    "parallel",
    "console",
    "channel",
    "input",
    "tpm",
    "graphics",
    "sound",
    "audio",
    "video",
    "hostdev",
    "redirdev",
    "redirfilter",
    "hub",
    "watchdog",
    "memballoon",
    "rng",
    "nvram",
    "panic",
    "shmem",
    "memory",
    "iommu",
    "vsock",
    "crypto",
];

const DISK_CHILDREN: &[&str] = &[
    "driver",
    "auth",
    "source",
    "backingStore",
    "geometry",
    "blockio",
    "target",
    "iotune",
    "boot",
    "readonly",
    "shareable",
    "transient",
    "serial",
    "wwn",
    "vendor",
    "product",
    "encryption",
    "alias",
    "address",
];

const NET_CHILDREN: &[&str] = &[
    "mac",
    "source",
    "virtualport",
    "ip",
    "route",
    "script",
    "downscript",
    "backenddomain",
    "target",
    "guest",
    "model",
    "driver",
    "backend",
    "filterref",
    "tune",
    "teaming",
    "link",
    "mtu",
    "coalesce",
    "boot",
    "rom",
    "alias",
    "address",
];

/// Does any device carry a per-device `<boot order>`?
pub fn has_device_boot(devices: &roxmltree::Node) -> bool {
    devices.children().filter(|d| d.is_element()).any(|d| {
        d.children()
            .any(|c| c.is_element() && c.tag_name().name() == "boot")
    })
}

fn rank(kind: &str) -> Option<usize> {
    DEVICE_ORDER.iter().position(|n| *n == kind)
}

/// libvirt's disk name index: "sda" -> 0, "sdz" -> 25, "sdaa" -> 26 (partition digits ignored).
fn disk_index(dev: &str) -> Option<u32> {
    let prefixes = ["fd", "hd", "vd", "sd", "xvd", "ubd"];
    let rest = prefixes
        .iter()
        .filter(|p| dev.starts_with(*p))
        .map(|p| &dev[p.len()..])
        .min_by_key(|r| r.len())?;
    let letters: String = rest
        .chars()
        .take_while(|c| c.is_ascii_lowercase())
        .collect();
    if letters.is_empty() || !rest[letters.len()..].chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut idx: u32 = 0;
    for (i, c) in letters.bytes().enumerate() {
        if i > 0 {
            idx = (idx + 1).checked_mul(26)?;
        }
        idx = idx.checked_add(u32::from(c - b'a'))?;
    }
    Some(idx)
}

fn default_disk_bus(dev: &str, device: &str) -> &'static str {
    if device == "floppy" {
        return "fdc";
    }
    for (p, b) in [
        ("hd", "ide"),
        ("sd", "scsi"),
        ("vd", "virtio"),
        ("xvd", "xen"),
        ("ubd", "uml"),
        ("fd", "fdc"),
    ] {
        if dev.starts_with(p) {
            return b;
        }
    }
    "ide"
}

fn disk_bus(d: &El) -> String {
    d.child("target")
        .and_then(|t| t.attr("bus"))
        .unwrap_or("")
        .to_string()
}

fn disk_idx(d: &El) -> u32 {
    d.child("target")
        .and_then(|t| t.attr("dev"))
        .and_then(disk_index)
        .unwrap_or(0)
}

/// Normalise one disk: default type/device/bus, a drive address for controller buses.
fn fix_disk(d: &mut El) {
    if d.attr("type").is_none() {
        d.set("type", "file");
    }
    if d.attr("device").is_none() {
        d.set("device", "disk");
    }
    d.order_attrs(&["type", "device", "model", "rawio", "sgio", "snapshot"]);
    let device = d.attr("device").unwrap_or("disk").to_string();
    let mut bus = String::new();
    let mut idx = 0;
    if let Some(t) = d.child_mut("target") {
        let dev = t.attr("dev").unwrap_or("").to_string();
        if t.attr("bus").is_none() {
            t.set("bus", default_disk_bus(&dev, &device));
        }
        t.order_attrs(&["dev", "bus", "tray", "removable", "rotation_rate"]);
        bus = t.attr("bus").unwrap_or("").to_string();
        idx = disk_index(&dev).unwrap_or(0);
    }
    if let Some(dr) = d.child_mut("driver") {
        dr.order_attrs(&[
            "name",
            "type",
            "cache",
            "error_policy",
            "rerror_policy",
            "io",
            "ioeventfd",
            "event_idx",
            "copy_on_read",
            "discard",
            "iothread",
            "detect_zeroes",
        ]);
    }
    if d.child("address").is_none() {
        let (per_ctrl, per_bus) = match bus.as_str() {
            "ide" => (4, 2),
            "fdc" => (2, 2),
            "scsi" => (7, 7),
            "sata" => (6, 6),
            _ => (0, 0),
        };
        if let (Some(ctrl), Some(rem)) = (idx.checked_div(per_ctrl), idx.checked_rem(per_ctrl)) {
            let a = El::new("address")
                .with("type", "drive")
                .with("controller", &ctrl.to_string())
                .with("bus", &(rem / per_bus).to_string())
                .with("target", "0")
                .with("unit", &(idx % per_bus).to_string());
            d.children.push(a);
        }
    }
    d.order_children(DISK_CHILDREN);
}

/// Insert a disk after the disks of its bus with a lower name index (libvirt's disk order).
fn insert_disk(disks: &mut Vec<El>, d: El) {
    let (bus, idx) = (disk_bus(&d), disk_idx(&d));
    let mut pos = None;
    for (i, o) in disks.iter().enumerate() {
        if disk_bus(o) == bus {
            if disk_idx(o) > idx {
                pos = Some(i);
                break;
            }
            pos = Some(i + 1);
        }
    }
    disks.insert(pos.unwrap_or(disks.len()), d);
}

fn ctrl_key(c: &El) -> (String, i64) {
    (
        c.attr("type").unwrap_or("").to_string(),
        c.attr("index").and_then(|i| i.parse().ok()).unwrap_or(0),
    )
}

fn fix_graphics(g: &mut El) {
    let ty = g.attr("type").unwrap_or("").to_string();
    if ty == "vnc" || ty == "spice" {
        let first_addr = g
            .children
            .iter()
            .find(|c| c.name == "listen" && c.attr("type") == Some("address"))
            .and_then(|l| l.attr("address"))
            .map(str::to_string);
        match (g.attr("listen").map(str::to_string), first_addr) {
            (None, Some(a)) => g.set("listen", &a),
            (Some(a), None) if !g.children.iter().any(|c| c.name == "listen") => {
                g.children.insert(
                    0,
                    El::new("listen")
                        .with("type", "address")
                        .with("address", &a),
                );
            }
            (None, None) if !g.children.iter().any(|c| c.name == "listen") => {
                g.children
                    .insert(0, El::new("listen").with("type", "address"));
            }
            _ => {}
        }
        for l in g.children.iter_mut().filter(|c| c.name == "listen") {
            l.order_attrs(&["type", "address", "network", "socket", "autoGenerated"]);
        }
        let port: Option<i64> = g.attr("port").and_then(|p| p.parse().ok());
        let auto = g.attr("autoport") == Some("yes");
        if ty == "vnc" {
            if g.attr("socket").is_none() {
                match port {
                    Some(p) if p > 0 && !auto => {
                        g.set("autoport", "no");
                    }
                    _ => {
                        g.set("port", "-1");
                        g.set("autoport", "yes");
                    }
                }
            }
            g.order_attrs(&[
                "type",
                "socket",
                "port",
                "autoport",
                "websocket",
                "websocketGenerated",
                "listen",
                "passwd",
                "keymap",
                "passwdValidTo",
                "connected",
                "sharePolicy",
                "powerControl",
            ]);
        } else {
            let tls: Option<i64> = g.attr("tlsPort").and_then(|p| p.parse().ok());
            if auto || (port.unwrap_or(-1) <= 0 && tls.unwrap_or(-1) <= 0) {
                g.remove("port");
                g.remove("tlsPort");
                g.set("autoport", "yes");
            } else {
                g.set("autoport", "no");
            }
            g.order_attrs(&[
                "type",
                "port",
                "tlsPort",
                "autoport",
                "listen",
                "passwd",
                "keymap",
                "defaultMode",
                "passwdValidTo",
                "connected",
            ]);
        }
        g.order_children(&["listen"]);
    }
}

fn fix_video(v: &mut El, primary: bool) {
    if v.child("model").is_none() {
        v.children
            .insert(0, El::new("model").with("type", "cirrus"));
    }
    let m = v.child_mut("model").expect("just ensured");
    let ty = m.attr("type").unwrap_or("").to_string();
    if m.attr("vram").is_none() {
        match ty.as_str() {
            "vga" | "cirrus" | "vmvga" => m.set("vram", "16384"),
            "qxl" => m.set("vram", "65536"),
            _ => {}
        }
    }
    if m.attr("heads").is_none() {
        m.set("heads", "1");
    }
    if primary {
        m.set("primary", "yes");
    }
    m.order_attrs(&[
        "type", "ram", "vram", "vram64", "vgamem", "heads", "primary", "blob",
    ]);
    v.order_children(&["model", "driver", "alias", "address"]);
}

/// Normalise the `<devices>` children as libvirt's parser and post-parse steps do for the test
/// driver; returns each device with its rank in [`DEVICE_ORDER`], in libvirt's order.
pub fn normalize(devices: &roxmltree::Node, hvm: bool) -> DriverResult<Vec<(usize, El)>> {
    let mut disks: Vec<El> = Vec::new();
    let mut ctrls: Vec<El> = Vec::new();
    let mut other: Vec<El> = Vec::new();
    for c in devices.children().filter(|c| c.is_element()) {
        let kind = c.tag_name().name();
        if rank(kind).is_none() {
            continue;
        }
        let el = El::from_node(&c);
        match kind {
            "disk" => {
                if el.child("target").and_then(|t| t.attr("dev")).is_none() {
                    return Err(raw_error(
                        20,
                        ErrorDomain::Domain as i32,
                        "missing target information for device",
                    ));
                }
                let mut d = el;
                fix_disk(&mut d);
                insert_disk(&mut disks, d);
            }
            "controller" => ctrls.push(el),
            _ => other.push(el),
        }
    }
    // Implicit disk controllers, in libvirt's order of buses.
    for bus in ["scsi", "fdc", "ide", "sata"] {
        let max = disks
            .iter()
            .filter(|d| disk_bus(d) == bus)
            .filter_map(|d| d.child("address"))
            .filter(|a| a.attr("type") == Some("drive"))
            .filter_map(|a| a.attr("controller").and_then(|c| c.parse::<i64>().ok()))
            .max();
        if let Some(max) = max {
            for i in 0..=max {
                if !ctrls.iter().any(|c| ctrl_key(c) == (bus.to_string(), i)) {
                    let c = El::new("controller")
                        .with("type", bus)
                        .with("index", &i.to_string());
                    ctrls.push(c);
                }
            }
        }
    }
    // Interfaces: libvirt's child order and the test driver's generated target name.
    for (nic, i) in other
        .iter_mut()
        .filter(|d| d.name == "interface")
        .enumerate()
    {
        if i.child("mac").is_none() {
            let b = *uuid::Uuid::new_v4().as_bytes();
            let mac = format!("52:54:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2]);
            i.children.push(El::new("mac").with("address", &mac));
        }
        if i.child("target").is_none() {
            i.children
                .push(El::new("target").with("dev", &format!("testnet{nic}")));
        }
        i.order_children(NET_CHILDREN);
    }
    if hvm {
        fix_chardevs(&mut other)?;
    }
    // Virtio channels and consoles need a virtio-serial controller.
    let virtio_serial = other.iter().any(|d| {
        (d.name == "channel" || d.name == "console")
            && d.child("target").and_then(|t| t.attr("type")) == Some("virtio")
    });
    if virtio_serial
        && !ctrls
            .iter()
            .any(|c| c.attr("type") == Some("virtio-serial"))
    {
        ctrls.push(
            El::new("controller")
                .with("type", "virtio-serial")
                .with("index", "0"),
        );
    }
    for g in other.iter_mut().filter(|d| d.name == "graphics") {
        fix_graphics(g);
    }
    let has_graphics = other.iter().any(|d| d.name == "graphics");
    if has_graphics && !other.iter().any(|d| d.name == "video") {
        other.push(El::new("video"));
    }
    let mut first_video = true;
    for v in other.iter_mut().filter(|d| d.name == "video") {
        fix_video(v, first_video);
        first_video = false;
    }
    for i in other.iter_mut().filter(|d| d.name == "input") {
        if i.attr("bus").is_none() && hvm {
            let bus = if i.attr("type") == Some("tablet") {
                "usb"
            } else {
                "ps2"
            };
            i.set("bus", bus);
        }
        i.order_attrs(&["type", "bus", "model"]);
    }
    let mut out: Vec<(usize, El)> = disks
        .into_iter()
        .chain(ctrls)
        .chain(other)
        .map(|d| (rank(&d.name).unwrap_or(0), d))
        .collect();
    out.sort_by_key(|e| e.0);
    Ok(out)
}

/// A device at indent 4; graphics passwords only with `secure` (VIR_DOMAIN_XML_SECURE).
pub fn format_device(d: &El, secure: bool, out: &mut String) {
    if d.name == "graphics" && !secure && d.attr("passwd").is_some() {
        let mut g = d.clone();
        g.remove("passwd");
        g.format(4, out);
    } else {
        d.format(4, out);
    }
}

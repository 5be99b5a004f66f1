//! Character devices of a domain as libvirt 9.0 stores them: serial and parallel port numbers,
//! the first console as an alias of the first serial port (created when missing).

use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};

use crate::domain_xml_el::El;
use crate::error::{DriverError, DriverResult};

const CHR_CHILDREN: &[&str] = &["source", "protocol", "log", "target", "alias", "address"];

fn chr_port(c: &El) -> Option<i64> {
    c.child("target")
        .and_then(|t| t.attr("port"))
        .and_then(|p| p.parse().ok())
}

fn set_target(c: &mut El, ty: Option<&str>, port: i64) {
    if c.child("target").is_none() {
        c.children.push(El::new("target"));
    }
    let t = c.child_mut("target").expect("just added");
    if let Some(ty) = ty {
        t.set("type", ty);
    }
    t.set("port", &port.to_string());
    t.order_attrs(&["type", "port"]);
    c.order_children(CHR_CHILDREN);
}

/// Serial ports get port numbers; the first console is the first serial port's alias (a serial
/// port is created for it when there is none).
pub fn fix_chardevs(devs: &mut Vec<El>) -> DriverResult<()> {
    for kind in ["serial", "parallel"] {
        let mut next = 0;
        for s in devs.iter_mut().filter(|d| d.name == kind) {
            let port = chr_port(s).unwrap_or(next);
            next = next.max(port + 1);
            let ty = s
                .child("target")
                .and_then(|t| t.attr("type"))
                .map(str::to_string);
            set_target(s, ty.as_deref(), port);
        }
    }
    let Some(ci) = devs.iter().position(|d| d.name == "console") else {
        return Ok(());
    };
    let cty = devs[ci]
        .child("target")
        .and_then(|t| t.attr("type"))
        .map(str::to_string);
    if cty.is_none() || cty.as_deref() == Some("serial") {
        match devs.iter().position(|d| d.name == "serial") {
            Some(si) => {
                let serial = devs[si].clone();
                let port = chr_port(&serial).unwrap_or(0);
                let c = &mut devs[ci];
                c.attrs = serial.attrs.clone();
                c.children = serial
                    .children
                    .iter()
                    .filter(|k| k.name != "target" && k.name != "alias" && k.name != "address")
                    .cloned()
                    .collect();
                set_target(c, Some("serial"), port);
            }
            None => {
                let port = chr_port(&devs[ci]).unwrap_or(0);
                let mut s = devs[ci].clone();
                s.name = "serial".to_string();
                s.children.retain(|k| k.name != "target");
                set_target(&mut s, None, port);
                set_target(&mut devs[ci], Some("serial"), port);
                devs.insert(ci, s);
            }
        }
    }
    for (i, c) in devs.iter_mut().filter(|d| d.name == "console").enumerate() {
        let ty = c.child("target").and_then(|t| t.attr("type"));
        if i > 0 && ty.is_none_or(|t| t == "serial") {
            const MSG: &str = "Only the first console can be a serial port";
            return Err(DriverError::Vir(VirError {
                code: ErrorCode::ConfigUnsupported as i32,
                domain: ErrorDomain::Domain as i32,
                message: format!("unsupported configuration: {MSG}"),
                level: 2,
                str1: Some("unsupported configuration: %s".to_string()),
                str2: Some(MSG.to_string()),
                str3: None,
                int1: -1,
                int2: -1,
            }));
        }
        if chr_port(c).is_none() || c.child("target").and_then(|t| t.attr("type")).is_none() {
            let ty = c
                .child("target")
                .and_then(|t| t.attr("type"))
                .unwrap_or("serial")
                .to_string();
            let port = chr_port(c).unwrap_or(i as i64);
            set_target(c, Some(&ty), port);
        }
    }
    Ok(())
}

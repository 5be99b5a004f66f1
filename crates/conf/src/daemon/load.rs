//! Loading of the network keys and of the keys shared by every libvirtd-family daemon, and the value checks they need
//! (octal socket modes, host UUIDs).

use super::{
    set, set_opt, AuthType, DaemonConfig, HostUuidSource, NetworkConfig, MIN_EXPLICIT_SSF,
};
use crate::error::ConfError;
use crate::grammar::ConfFile;

/// Parses a socket permission string such as `"0770"` as octal (at most `0o7777`).
pub fn parse_mode(path: &str, key: &str, value: &str) -> Result<u32, ConfError> {
    let bad = || ConfError::InvalidMode {
        path: path.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
    };
    if value.is_empty() || !value.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(bad());
    }
    match u32::from_str_radix(value, 8) {
        Ok(mode) if mode <= 0o7777 => Ok(mode),
        _ => Err(bad()),
    }
}

/// Validates a UUID string: 32 hex digits, optionally with `-` between digit pairs and
/// surrounding blanks. Returns the lowercase `8-4-4-4-12` form, or `None` when invalid.
pub fn parse_host_uuid(value: &str) -> Option<String> {
    let s = value.trim_matches(|c| c == ' ' || c == '\t');
    let mut digits = Vec::with_capacity(32);
    let mut after_pair = false;
    for c in s.chars() {
        if c == '-' {
            // A dash may only separate whole bytes.
            if !after_pair || digits.len() % 2 != 0 {
                return None;
            }
            after_pair = false;
            continue;
        }
        let d = c.to_ascii_lowercase();
        if !d.is_ascii_hexdigit() {
            return None;
        }
        digits.push(d);
        after_pair = digits.len() % 2 == 0;
    }
    if digits.len() != 32 || s.ends_with('-') {
        return None;
    }
    let hex: String = digits.into_iter().collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

fn get_mode(conf: &ConfFile, key: &str) -> Result<Option<u32>, ConfError> {
    conf.get_string(key)?
        .map(|s| parse_mode(&conf.path, key, &s))
        .transpose()
}

/// Applies the non-network keys over `cfg`, in libvirt's order, with its checks.
pub(super) fn load_common(conf: &ConfFile, cfg: &mut DaemonConfig) -> Result<(), ConfError> {
    let path = conf.path.as_str();
    set(&mut cfg.auth_unix_rw, get_auth(conf, "auth_unix_rw")?);
    // polkit does the access check, so the socket itself is opened up; an explicit
    // unix_sock_rw_perms (read below) still wins.
    if cfg.auth_unix_rw == AuthType::Polkit {
        cfg.unix_sock_rw_perms = 0o777;
    }
    set(&mut cfg.auth_unix_ro, get_auth(conf, "auth_unix_ro")?);
    set_opt(
        &mut cfg.access_drivers,
        conf.get_string_list("access_drivers")?,
    );
    set_opt(
        &mut cfg.unix_sock_group,
        conf.get_string("unix_sock_group")?,
    );
    set(
        &mut cfg.unix_sock_admin_perms,
        get_mode(conf, "unix_sock_admin_perms")?,
    );
    set(
        &mut cfg.unix_sock_ro_perms,
        get_mode(conf, "unix_sock_ro_perms")?,
    );
    set(
        &mut cfg.unix_sock_rw_perms,
        get_mode(conf, "unix_sock_rw_perms")?,
    );
    set_opt(&mut cfg.unix_sock_dir, conf.get_string("unix_sock_dir")?);
    set_opt(
        &mut cfg.sasl_allowed_username_list,
        conf.get_string_list("sasl_allowed_username_list")?,
    );

    set(&mut cfg.min_workers, conf.get_uint("min_workers")?);
    set(&mut cfg.max_workers, conf.get_uint("max_workers")?);
    if cfg.max_workers < 1 {
        return Err(ConfError::invalid(
            path,
            "max_workers",
            "'max_workers' must be greater than 0",
        ));
    }
    set(&mut cfg.max_clients, conf.get_uint("max_clients")?);
    set(
        &mut cfg.max_queued_clients,
        conf.get_uint("max_queued_clients")?,
    );
    set(
        &mut cfg.max_anonymous_clients,
        conf.get_uint("max_anonymous_clients")?,
    );
    if cfg.max_anonymous_clients > cfg.max_clients {
        return Err(ConfError::invalid(
            path,
            "max_anonymous_clients",
            format!(
                "The overall maximum number of clients ({}) must be greater than or equal to \
                 the maximum number of clients waiting for authentication ({})",
                cfg.max_clients, cfg.max_anonymous_clients
            ),
        ));
    }
    set(&mut cfg.prio_workers, conf.get_uint("prio_workers")?);
    set(
        &mut cfg.max_client_requests,
        conf.get_uint("max_client_requests")?,
    );

    set(
        &mut cfg.admin_min_workers,
        conf.get_uint("admin_min_workers")?,
    );
    set(
        &mut cfg.admin_max_workers,
        conf.get_uint("admin_max_workers")?,
    );
    set(
        &mut cfg.admin_max_clients,
        conf.get_uint("admin_max_clients")?,
    );
    set(
        &mut cfg.admin_max_queued_clients,
        conf.get_uint("admin_max_queued_clients")?,
    );
    set(
        &mut cfg.admin_max_client_requests,
        conf.get_uint("admin_max_client_requests")?,
    );

    set(&mut cfg.audit_level, conf.get_uint("audit_level")?);
    set(&mut cfg.audit_logging, conf.get_bool("audit_logging")?);

    if let Some(uuid) = conf.get_string("host_uuid")? {
        match parse_host_uuid(&uuid) {
            Some(norm) => cfg.host_uuid = Some(norm),
            None => return Err(ConfError::invalid(path, "host_uuid", "invalid host UUID")),
        }
    }
    if let Some(src) = conf.get_string("host_uuid_source")? {
        cfg.host_uuid_source = match src.as_str() {
            "smbios" => HostUuidSource::Smbios,
            "machine-id" => HostUuidSource::MachineId,
            other => {
                return Err(ConfError::invalid(
                    path,
                    "host_uuid_source",
                    format!("unknown host_uuid_source parameter '{other}'"),
                ))
            }
        };
    }

    set(&mut cfg.log_level, conf.get_uint("log_level")?);
    set_opt(&mut cfg.log_filters, conf.get_string("log_filters")?);
    set_opt(&mut cfg.log_outputs, conf.get_string("log_outputs")?);

    set(
        &mut cfg.keepalive_interval,
        conf.get_int("keepalive_interval")?,
    );
    set(&mut cfg.keepalive_count, conf.get_uint("keepalive_count")?);
    set(
        &mut cfg.admin_keepalive_interval,
        conf.get_int("admin_keepalive_interval")?,
    );
    set(
        &mut cfg.admin_keepalive_count,
        conf.get_uint("admin_keepalive_count")?,
    );
    set(&mut cfg.ovs_timeout, conf.get_uint("ovs_timeout")?);
    // keepalive_required / admin_keepalive_required are obsolete: known, never read.
    Ok(())
}

/// Reads an auth key.
fn get_auth(conf: &ConfFile, key: &str) -> Result<Option<AuthType>, ConfError> {
    let Some(s) = conf.get_string(key)? else {
        return Ok(None);
    };
    match AuthType::parse(&s) {
        Some(a) => Ok(Some(a)),
        None => Err(ConfError::UnsupportedAuth {
            path: conf.path.clone(),
            key: key.to_owned(),
            value: s,
        }),
    }
}

pub(super) fn load_network(conf: &ConfFile, net: &mut NetworkConfig) -> Result<(), ConfError> {
    let path = conf.path.as_str();
    set(&mut net.listen_tcp, conf.get_bool("listen_tcp")?);
    set(&mut net.listen_tls, conf.get_bool("listen_tls")?);
    set(&mut net.tls_port, conf.get_string("tls_port")?);
    set(&mut net.tcp_port, conf.get_string("tcp_port")?);
    set_opt(&mut net.listen_addr, conf.get_string("listen_addr")?);
    set(&mut net.auth_tcp, get_auth(conf, "auth_tcp")?);
    set(&mut net.auth_tls, get_auth(conf, "auth_tls")?);
    set(
        &mut net.tls_no_sanity_certificate,
        conf.get_bool("tls_no_sanity_certificate")?,
    );
    set(
        &mut net.tls_no_verify_certificate,
        conf.get_bool("tls_no_verify_certificate")?,
    );
    set_opt(&mut net.key_file, conf.get_string("key_file")?);
    set_opt(&mut net.cert_file, conf.get_string("cert_file")?);
    set_opt(&mut net.ca_file, conf.get_string("ca_file")?);
    set_opt(&mut net.crl_file, conf.get_string("crl_file")?);
    set_opt(
        &mut net.tls_allowed_dn_list,
        conf.get_string_list("tls_allowed_dn_list")?,
    );
    set_opt(&mut net.tls_priority, conf.get_string("tls_priority")?);
    if let Some(ssf) = conf.get_uint("tcp_min_ssf")? {
        if ssf < MIN_EXPLICIT_SSF {
            return Err(ConfError::invalid(
                path,
                "tcp_min_ssf",
                format!("minimum SSF levels lower than {MIN_EXPLICIT_SSF} are not supported"),
            ));
        }
        net.tcp_min_ssf = ssf;
    }
    let files = [&net.ca_file, &net.cert_file, &net.key_file];
    if files.iter().any(|f| f.is_some()) {
        let missing = [
            (
                &net.ca_file,
                "ca_file",
                "No CA certificate path set to match server key/cert",
            ),
            (
                &net.cert_file,
                "cert_file",
                "No server certificate path set to match server key",
            ),
            (
                &net.key_file,
                "key_file",
                "No server key path set to match server cert",
            ),
        ];
        if let Some((_, key, msg)) = missing.iter().find(|(f, _, _)| f.is_none()) {
            return Err(ConfError::invalid(path, key, *msg));
        }
    }
    Ok(())
}

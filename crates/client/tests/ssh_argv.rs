//! The ssh command line and remote command, table-tested against what libvirt 9.0's client
//! produces, and compared live with Debian's virsh (a stub "ssh" named by `command=` records
//! the argv virsh hands it).

use oxvirt_client::{conf::ClientConf, sockets, transport, uri::RemoteUri, Env};
use std::path::Path;
use std::process::Command;

const NC: &str = "if 'nc' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'nc' $ARG -U";

fn argv(uri: &str, read_only: bool, euid: u32, env: &Env) -> Vec<String> {
    let conf = ClientConf::default();
    let ctx = sockets::Context::new(euid, env, &conf);
    let u = RemoteUri::parse(uri).unwrap();
    let plan = sockets::plan(Some(&u), read_only, &ctx).unwrap();
    transport::ssh_argv(&plan.endpoint).unwrap()
}

fn auto(helper: &str, sock: &str) -> String {
    format!(
        "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     {helper}; else    {NC} {sock}; fi'"
    )
}

/// (URI, read-only, expected argv after the program name)
fn table() -> Vec<(&'static str, bool, Vec<String>)> {
    let v = |a: &[&str], cmd: String| -> Vec<String> {
        let mut out: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        out.push(cmd);
        out
    };
    let base = ["-T", "-e", "none", "--", "h"];
    vec![
        (
            "qemu+ssh://h/system",
            false,
            v(
                &base,
                auto(
                    "virt-ssh-helper 'qemu:///system'",
                    "/var/run/libvirt/libvirt-sock",
                ),
            ),
        ),
        (
            "qemu+ssh://h/system",
            true,
            v(
                &base,
                auto(
                    "virt-ssh-helper -r 'qemu:///system'",
                    "/var/run/libvirt/libvirt-sock-ro",
                ),
            ),
        ),
        (
            "qemu+ssh://u@h:2222/system?keyfile=/k&no_verify=1&no_tty=1",
            false,
            v(
                &[
                    "-p",
                    "2222",
                    "-l",
                    "u",
                    "-i",
                    "/k",
                    "-T",
                    "-e",
                    "none",
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "StrictHostKeyChecking=no",
                    "--",
                    "h",
                ],
                auto(
                    "virt-ssh-helper 'qemu:///system'",
                    "/var/run/libvirt/libvirt-sock",
                ),
            ),
        ),
        (
            "test+ssh://h/default?socket=/tmp/s",
            false,
            v(&base, format!("sh -c '{NC} /tmp/s'")),
        ),
        (
            "qemu+ssh://h/system?proxy=native",
            false,
            v(&base, "sh -c 'virt-ssh-helper 'qemu:///system''".into()),
        ),
        (
            "qemu+ssh://h/system?netcat=n%20c",
            false,
            v(
                &base,
                format!(
                    "sh -c '{} /var/run/libvirt/libvirt-sock'",
                    NC.replace("'nc'", r"'''\''n c'\''''")
                ),
            ),
        ),
        (
            "qemu+ssh://h/system?mode=legacy&foo=b%20r&x=%27q",
            false,
            v(
                &base,
                auto(
                    r"virt-ssh-helper '''\''qemu:///system?foo=b%20r&x=%27q'\''''",
                    "/var/run/libvirt/libvirt-sock",
                ),
            ),
        ),
        (
            "qemu+ssh://h/system?name=qemu:///session",
            false,
            v(
                &base,
                auto(
                    "virt-ssh-helper 'qemu:///session'",
                    "/var/run/libvirt/libvirt-sock",
                ),
            ),
        ),
        // known_hosts= is for libssh/libssh2 only: the ssh binary gets no option for it.
        (
            "qemu+ssh://h/system?known_hosts=/kh&known_hosts_verify=ignore",
            false,
            v(
                &base,
                auto(
                    "virt-ssh-helper 'qemu:///system'",
                    "/var/run/libvirt/libvirt-sock",
                ),
            ),
        ),
        (
            "remote+ssh://h/?a=b",
            false,
            v(
                &base,
                auto(
                    r"virt-ssh-helper '''\'''\''''",
                    "/var/run/libvirt/libvirt-sock",
                ),
            ),
        ),
    ]
}

#[test]
fn ssh_argv_table() {
    let env = Env::default();
    for (uri, ro, want) in table() {
        let got = argv(uri, ro, 0, &env);
        assert_eq!(got[0], "ssh", "{uri}");
        assert_eq!(got[1..], want[..], "{uri}");
    }
    // Session (non-root): netcat to the *local* runtime dir path, native by default.
    let env = Env::from_pairs([("XDG_RUNTIME_DIR", "/tmp/xdg")]);
    let s = argv("qemu+ssh://h/session?proxy=netcat", false, 1000, &env);
    assert_eq!(
        s.last().unwrap(),
        &format!("sh -c '{NC} /tmp/xdg/libvirt/libvirt-sock'")
    );
    let s = argv("qemu+ssh://h/session", false, 1000, &env);
    assert_eq!(
        s.last().unwrap(),
        "sh -c 'virt-ssh-helper 'qemu:///session''"
    );
    let s = argv("test+ssh://h/default", false, 1000, &env);
    assert_eq!(
        s.last().unwrap(),
        "sh -c 'virt-ssh-helper 'test:///default''"
    );
    // command= names the ssh binary.
    let s = argv(
        "qemu+ssh://h/system?command=/opt/ssh",
        false,
        0,
        &Env::default(),
    );
    assert_eq!(s[0], "/opt/ssh");
}

/// Runs Debian's virsh on `uri` + `command=<stub>` and returns the argv the stub received.
fn virsh_argv(dir: &Path, uri: &str, read_only: bool) -> Vec<String> {
    let log = dir.join("argv");
    let _ = std::fs::remove_file(&log);
    let stub = dir.join("stub-ssh");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\" >> {}; done\nexit 1\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sep = if uri.contains('?') { '&' } else { '?' };
    let full = format!("{uri}{sep}command={}", stub.display());
    let mut c = Command::new("timeout");
    c.arg("20").arg("virsh");
    if read_only {
        c.arg("-r");
    }
    let out = c.arg("-c").arg(&full).arg("uri").output().unwrap();
    assert!(!out.status.success());
    let raw = std::fs::read(&log).unwrap_or_default();
    raw.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

#[test]
fn ssh_argv_matches_virsh() {
    if !Path::new("/usr/bin/virsh").exists() {
        eprintln!("virsh not installed: skipping the differential ssh argv check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = Env::default();
    for (uri, ro, _) in table() {
        let theirs = virsh_argv(dir.path(), uri, ro);
        let ours = argv(uri, ro, 0, &env);
        assert_eq!(ours[1..], theirs[..], "{uri}");
    }
}

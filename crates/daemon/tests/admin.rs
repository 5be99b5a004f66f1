//! virt-admin against our admin socket, compared with the reference where fields agree.

mod common;
use common::{virt_admin, Daemon, Kind};

#[test]
fn server_list_matches_reference() {
    let ours = Daemon::start(Kind::Ours, "", &[]);
    let reference = Daemon::start(Kind::Reference, "", &[]);
    // The reference lists servers in hash order: compare the set of lines.
    let sorted = |r: (i32, String, String)| {
        let mut names: Vec<String> =
            r.1.lines()
                .skip(2)
                .filter_map(|l| l.split_whitespace().nth(1))
                .map(String::from)
                .collect();
        names.sort();
        (r.0, names, r.2)
    };
    let a = sorted(virt_admin(&ours.admin_uri(), &["srv-list"]));
    let b = sorted(virt_admin(&reference.admin_uri(), &["srv-list"]));
    assert_eq!(a, b);
    assert_eq!(a.1, vec!["admin".to_string(), "libvirtd".to_string()]);
    let a = virt_admin(&ours.admin_uri(), &["srv-clients-info", "libvirtd"]);
    let b = virt_admin(&reference.admin_uri(), &["srv-clients-info", "libvirtd"]);
    assert_eq!(a, b);
    let a = virt_admin(&ours.admin_uri(), &["srv-threadpool-info", "nosuch"]);
    let b = virt_admin(&reference.admin_uri(), &["srv-threadpool-info", "nosuch"]);
    assert_eq!(a, b);
    let a = virt_admin(&ours.admin_uri(), &["daemon-log-filters"]);
    let b = virt_admin(&reference.admin_uri(), &["daemon-log-filters"]);
    assert_eq!(a, b);
    // Filters set at run time read back the same way (matches as '*MATCH*', '+' dropped).
    for d in [&ours, &reference] {
        let (rc, _, err) = virt_admin(
            &d.admin_uri(),
            &["daemon-log-filters", "--filters", "3:util 1:+rpc"],
        );
        assert_eq!(rc, 0, "{err}");
    }
    let a = virt_admin(&ours.admin_uri(), &["daemon-log-filters"]);
    let b = virt_admin(&reference.admin_uri(), &["daemon-log-filters"]);
    assert_eq!(a, b);
}

#[test]
fn clients_can_be_listed_inspected_and_dropped() {
    let ours = Daemon::start(Kind::Ours, "", &[]);
    // A long-lived client: virsh event loop.
    let mut holder = std::process::Command::new("virsh")
        .args([
            "-c",
            &ours.uri(),
            "event",
            "--all",
            "--loop",
            "--timeout",
            "20",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let (rc, out, err) = virt_admin(&ours.admin_uri(), &["srv-clients-list", "libvirtd"]);
    assert_eq!(rc, 0, "{err}");
    let id = out
        .lines()
        .find(|l| l.contains("unix"))
        .and_then(|l| l.split_whitespace().next())
        .expect("a listed client")
        .to_string();
    let (rc, info, err) = virt_admin(&ours.admin_uri(), &["client-info", "libvirtd", &id]);
    assert_eq!(rc, 0, "{err}");
    for f in [
        "readonly",
        "unix_user_id",
        "unix_user_name",
        "unix_group_id",
        "unix_process_id",
    ] {
        assert!(info.contains(f), "{f} missing in {info}");
    }
    assert!(
        info.contains(&format!("{}", holder.id())),
        "pid of the client: {info}"
    );
    let (rc, out, err) = virt_admin(&ours.admin_uri(), &["client-disconnect", "libvirtd", &id]);
    assert_eq!(rc, 0, "{err}");
    assert!(
        out.contains(&format!("Client '{id}' disconnected")),
        "{out}"
    );
    let t0 = std::time::Instant::now();
    while holder.try_wait().unwrap().is_none() && t0.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = holder.kill();

    let (rc, out, _) = virt_admin(&ours.admin_uri(), &["srv-threadpool-info", "libvirtd"]);
    assert_eq!(rc, 0);
    assert!(
        out.contains("minWorkers") && out.contains("jobQueueDepth"),
        "{out}"
    );
    let (rc, _, err) = virt_admin(
        &ours.admin_uri(),
        &["srv-threadpool-set", "libvirtd", "--max-workers", "21"],
    );
    assert_eq!(rc, 0, "{err}");
    let (_, out, _) = virt_admin(&ours.admin_uri(), &["srv-threadpool-info", "libvirtd"]);
    assert!(
        out.lines()
            .any(|l| l.contains("maxWorkers") && l.contains("21")),
        "{out}"
    );
    let (rc, _, err) = virt_admin(
        &ours.admin_uri(),
        &["srv-clients-set", "libvirtd", "--max-clients", "100"],
    );
    assert_eq!(rc, 0, "{err}");
    let (_, out, _) = virt_admin(&ours.admin_uri(), &["srv-clients-info", "libvirtd"]);
    assert!(
        out.lines()
            .any(|l| l.contains("nclients_max") && l.contains("100")),
        "{out}"
    );
    let (rc, _, err) = virt_admin(
        &ours.admin_uri(),
        &["daemon-log-filters", "--filters", "1:rpc 3:util"],
    );
    assert_eq!(rc, 0, "{err}");
    let (_, out, _) = virt_admin(&ours.admin_uri(), &["daemon-log-filters"]);
    // libvirt 9.0 stores each match as '*MATCH*' and reads them back that way.
    assert!(out.contains("1:*rpc* 3:*util* "), "{out}");
    let (_, out, _) = virt_admin(&ours.admin_uri(), &["daemon-log-outputs"]);
    assert!(out.contains("3:file:"), "{out}");
    let (rc, _, err) = virt_admin(&ours.admin_uri(), &["daemon-timeout", "--timeout", "600"]);
    assert_eq!(rc, 0, "{err}");

    // Logging changes apply at run time: a new output and a debug filter for the RPC layer.
    let newlog = ours.dir.path().join("runtime.log");
    let outputs = format!("1:file:{}", newlog.display());
    let (rc, _, err) = virt_admin(
        &ours.admin_uri(),
        &["daemon-log-outputs", "--outputs", &outputs],
    );
    assert_eq!(rc, 0, "{err}");
    let (rc, _, err) = virt_admin(
        &ours.admin_uri(),
        &["daemon-log-filters", "--filters", "1:oxvirt_rpc"],
    );
    assert_eq!(rc, 0, "{err}");
    let (_, out, _) = virt_admin(&ours.admin_uri(), &["daemon-log-outputs"]);
    assert!(out.contains(&outputs), "{out}");
    let (rc, _, _) = common::virsh(&ours.uri(), &["list"]);
    assert_eq!(rc, 0);
    let log = std::fs::read_to_string(&newlog).unwrap_or_default();
    assert!(
        log.contains("client connected"),
        "debug line missing after the runtime change: {log}"
    );
    // A bad value is refused with libvirt's style of message, and nothing changes.
    let (rc, _, err) = virt_admin(
        &ours.admin_uri(),
        &["daemon-log-outputs", "--outputs", "9:nowhere"],
    );
    assert_ne!(rc, 0);
    assert!(err.contains("logging output"), "{err}");
    let (_, out, _) = virt_admin(&ours.admin_uri(), &["daemon-log-outputs"]);
    assert!(out.contains(&outputs), "{out}");
}

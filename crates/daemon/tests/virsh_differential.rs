//! The same virsh scenarios against the reference libvirtd 9.0 and against ours, on
//! test:///default; outputs must agree after normalising what must differ (CPU time).
//!
//! test:///default state is shared by a daemon's connections and reset when the last one
//! closes, so each scenario runs as one virsh session ("cmd1 ; cmd2 ; ...").

mod common;
use common::{virsh, Daemon, Kind};

const DEMO_XML: &str = "<domain type='test'><name>demo</name><uuid>2a1d5a52-8b43-4a0d-9a0f-3d2c8e4b6f01</uuid><memory unit='KiB'>131072</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>";
const NET_XML: &str = "<network><name>lab</name><uuid>3e3fce45-4f53-4fa7-bb32-11f34168b82b</uuid><bridge name='virbr9'/><ip address='192.168.199.1' netmask='255.255.255.0'><dhcp><range start='192.168.199.2' end='192.168.199.254'/></dhcp></ip></network>";

fn normalise(s: &str, d: &Daemon) -> String {
    let dir = d.dir.path().display().to_string();
    s.replace(&dir, "<DIR>")
        .lines()
        .map(|l| {
            if l.starts_with("CPU time:") {
                "CPU time: <n>".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Pair {
    ours: Daemon,
    reference: Daemon,
    files: tempfile::TempDir,
}

fn pair() -> Pair {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("demo.xml"), DEMO_XML).unwrap();
    std::fs::write(files.path().join("net.xml"), NET_XML).unwrap();
    Pair {
        ours: Daemon::start(Kind::Ours, "", &[]),
        reference: Daemon::start(Kind::Reference, "", &[]),
        files,
    }
}

/// Run one virsh session of `cmds` against both daemons and compare.
fn same(p: &Pair, cmds: &[&str]) -> Vec<String> {
    let dir = p.files.path().display().to_string();
    let script: Vec<String> = cmds.iter().map(|c| c.replace("$DIR", &dir)).collect();
    let script = script.join(" ; ");
    let (rc_r, out_r, err_r) = virsh(&p.reference.uri(), &[&script]);
    let (rc_o, out_o, err_o) = virsh(&p.ours.uri(), &[&script]);
    let (out_r, out_o) = (normalise(&out_r, &p.reference), normalise(&out_o, &p.ours));
    let (err_r, err_o) = (normalise(&err_r, &p.reference), normalise(&err_o, &p.ours));
    if (rc_r, &out_r, &err_r) != (rc_o, &out_o, &err_o) {
        let diff: Vec<String> = out_r
            .lines()
            .zip(out_o.lines().chain(std::iter::repeat("<missing>")))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("  reference: {a:?}\n  ours:      {b:?}"))
            .take(10)
            .collect();
        panic!(
            "virsh '{script}' differs\nrc {rc_r} vs {rc_o}\nfirst differing lines:\n{}\n--- reference stdout\n{out_r}\n--- ours stdout\n{out_o}\n--- reference stderr\n{err_r}\n--- ours stderr\n{err_o}",
            diff.join("\n")
        );
    }
    vec![out_o]
}

#[test]
fn domains_lists_and_lookups() {
    let p = pair();
    same(
        &p,
        &[
            "list --all",
            "list",
            "dominfo test",
            "domstate test",
            "domstate --reason test",
        ],
    );
    same(
        &p,
        &[
            "domid test",
            "domuuid test",
            "domname 1",
            "domname 6695eb01-f6a4-8304-79aa-97f2502e193f",
        ],
    );
    same(&p, &["dumpxml test", "dumpxml --inactive test"]);
    same(&p, &["vcpucount test", "dominfo 1"]);
    same(&p, &["dominfo nosuch"]);
    same(&p, &["domstate 42"]);
}

#[test]
fn domain_lifecycle() {
    let p = pair();
    same(
        &p,
        &[
            "define $DIR/demo.xml",
            "list --all",
            "dumpxml demo",
            "dominfo demo",
            "start demo",
            "domid demo",
            "domstate demo",
            "suspend demo",
            "domstate --reason demo",
            "resume demo",
            "domstate --reason demo",
            "reboot demo",
            "shutdown demo",
            "domstate --reason demo",
            "start demo",
            "destroy demo",
            "domstate --reason demo",
            "undefine demo",
            "list --all",
        ],
    );
}

#[test]
fn domain_tuning_and_autostart() {
    let p = pair();
    same(
        &p,
        &[
            "define $DIR/demo.xml",
            "autostart demo",
            "dominfo demo",
            "autostart --disable demo",
            "dominfo demo",
        ],
    );
    same(
        &p,
        &[
            "setmem test 4194304",
            "dominfo test",
            "setmem test 2097152 --config",
            "dumpxml --inactive test",
        ],
    );
    same(
        &p,
        &[
            "setvcpus test 1 --live",
            "vcpucount test",
            "setvcpus test 1 --config",
            "vcpucount test",
        ],
    );
    same(
        &p,
        &[
            "define $DIR/demo.xml",
            "setvcpus demo 2 --config --maximum",
            "vcpucount demo",
            "setmem demo 65536 --config",
            "dominfo demo",
        ],
    );
}

#[test]
fn domain_errors() {
    let p = pair();
    same(&p, &["destroy test", "destroy test"]);
    same(&p, &["start test"]);
    same(&p, &["resume test"]);
    same(&p, &["suspend test", "suspend test"]);
    same(&p, &["undefine nosuch"]);
    same(&p, &["setmem test 99999999999"]);
}

#[test]
fn node_and_connection() {
    let p = pair();
    same(
        &p,
        &["nodeinfo", "hostname", "uri", "version", "version --daemon"],
    );
    same(&p, &["capabilities"]);
    same(&p, &["nodememstats", "freecell", "maxvcpus"]);
}

#[test]
fn networks() {
    let p = pair();
    same(
        &p,
        &[
            "net-list --all",
            "net-info default",
            "net-dumpxml default",
            "net-dumpxml --inactive default",
        ],
    );
    same(
        &p,
        &[
            "net-define $DIR/net.xml",
            "net-list --all",
            "net-info lab",
            "net-start lab",
            "net-autostart lab",
            "net-list --all",
            "net-dumpxml lab",
            "net-destroy lab",
            "net-undefine lab",
            "net-list --all",
        ],
    );
    same(
        &p,
        &[
            "net-info nosuch",
            "net-start default",
            "net-destroy default",
            "net-destroy default",
        ],
    );
}

#[test]
fn storage() {
    let p = pair();
    same(
        &p,
        &[
            "pool-list --all",
            "pool-info default-pool",
            "pool-dumpxml default-pool",
            "vol-list default-pool",
        ],
    );
    same(
        &p,
        &[
            "vol-create-as default-pool v1.img 10M",
            "vol-list default-pool",
            "vol-info v1.img --pool default-pool",
            "vol-dumpxml v1.img --pool default-pool",
            "vol-path v1.img --pool default-pool",
            "pool-info default-pool",
            "vol-delete v1.img --pool default-pool",
            "vol-list default-pool",
        ],
    );
    same(
        &p,
        &["pool-info nosuch", "vol-info nosuch --pool default-pool"],
    );
}

#[test]
fn interfaces_and_node_devices() {
    let p = pair();
    same(
        &p,
        &[
            "iface-list --all",
            "nodedev-list",
            "nodedev-dumpxml computer",
        ],
    );
}

/// `virsh event --all --loop` on one connection receives the lifecycle events caused by a
/// second client; both daemons report the same events.
#[test]
fn lifecycle_events_reach_another_client() {
    let p = pair();
    let dir = p.files.path().display().to_string();
    let script = format!(
        "define {dir}/demo.xml ; start demo ; suspend demo ; resume demo ; destroy demo ; undefine demo"
    );
    let watch = |d: &Daemon| {
        std::process::Command::new("virsh")
            .args(["-c", &d.uri(), "event", "--all", "--loop", "--timeout", "4"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let w_ref = watch(&p.reference);
    let w_ours = watch(&p.ours);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let r1 = virsh(&p.reference.uri(), &[&script]);
    let r2 = virsh(&p.ours.uri(), &[&script]);
    assert_eq!(r1.0, 0, "{r1:?}");
    assert_eq!(r2.0, 0, "{r2:?}");
    let out_ref = String::from_utf8_lossy(&w_ref.wait_with_output().unwrap().stdout).into_owned();
    let out_ours = String::from_utf8_lossy(&w_ours.wait_with_output().unwrap().stdout).into_owned();
    assert!(
        out_ref.contains("Defined"),
        "reference saw no events: {out_ref}"
    );
    assert_eq!(out_ref, out_ours);
}

/// test:///default is reset when the last connection closes, and kept while one stays open.
#[test]
fn shared_state_resets_with_last_connection() {
    let p = pair();
    for d in [&p.reference, &p.ours] {
        let (rc, _, e) = virsh(&d.uri(), &["destroy test"]);
        assert_eq!(rc, 0, "{e}");
        let (_, out, _) = virsh(&d.uri(), &["domstate test"]);
        assert_eq!(
            out.trim(),
            "running",
            "{:?}: state must reset after the last client left",
            d.kind
        );
    }
}

/// test:///ABSOLUTE/PATH.xml: a node file (with a `file=` domain) gives the same view on both.
#[test]
fn node_file_uri() {
    let p = pair();
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/../driver-test/tests/golden");
    for f in ["node1.xml", "dom2.xml"] {
        std::fs::copy(format!("{golden}/{f}"), p.files.path().join(f)).unwrap();
    }
    let node = p.files.path().join("node1.xml").display().to_string();
    let run = |d: &Daemon| {
        let uri = format!("test+unix://{node}?socket={}", d.sock().display());
        let script = "list --all ; nodeinfo ; net-list --all ; pool-list --all ; iface-list --all";
        let (rc, out, err) = virsh(&uri, &[script]);
        let names: Vec<String> = out
            .lines()
            .filter(|l| !l.contains("CPU time"))
            .map(String::from)
            .collect();
        let (_, x, _) = virsh(&uri, &["list --all --name"]);
        let mut xml = String::new();
        for n in x.lines().filter(|l| !l.is_empty()) {
            xml += &virsh(&uri, &["dumpxml", n]).1;
        }
        (rc, names, err, xml)
    };
    assert_eq!(run(&p.ours), run(&p.reference));
    let (_, out, err) = virsh(
        &format!("test+unix:///nosuch.xml?socket={}", p.ours.sock().display()),
        &["list"],
    );
    let (_, out_r, err_r) = virsh(
        &format!(
            "test+unix:///nosuch.xml?socket={}",
            p.reference.sock().display()
        ),
        &["list"],
    );
    assert_eq!((out, err), (out_r, err_r));
}

/// `virsh net-event` on one connection sees network lifecycle events caused by another.
#[test]
fn network_events_reach_another_client() {
    let p = pair();
    let dir = p.files.path().display().to_string();
    let script =
        format!("net-define {dir}/net.xml ; net-start lab ; net-destroy lab ; net-undefine lab");
    let watch = |d: &Daemon| {
        std::process::Command::new("virsh")
            .args([
                "-c",
                &d.uri(),
                "net-event",
                "--event",
                "lifecycle",
                "--loop",
                "--timeout",
                "4",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (w_ref, w_ours) = (watch(&p.reference), watch(&p.ours));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(virsh(&p.reference.uri(), &[&script]).0, 0);
    assert_eq!(virsh(&p.ours.uri(), &[&script]).0, 0);
    let out_ref = String::from_utf8_lossy(&w_ref.wait_with_output().unwrap().stdout).into_owned();
    let out_ours = String::from_utf8_lossy(&w_ours.wait_with_output().unwrap().stdout).into_owned();
    assert!(
        out_ref.contains("Started"),
        "reference saw no events: {out_ref}"
    );
    assert_eq!(out_ref, out_ours);
}

/// Realistic XML (disks on several buses, interfaces, graphics with a password, consoles):
/// dumpxml, --inactive and --security-info agree with the reference.
#[test]
fn rich_domain_xml_round_trip() {
    let p = pair();
    let golden = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../driver-test/tests/golden/rich_full_input.xml"
    );
    let xml = std::fs::read_to_string(golden).unwrap();
    std::fs::write(p.files.path().join("rich.xml"), xml).unwrap();
    same(&p, &["define $DIR/rich.xml", "list --all --name"]);
    let (_, names, _) = virsh(
        &p.ours.uri(),
        &[&format!(
            "define {}/rich.xml ; list --all --name",
            p.files.path().display()
        )],
    );
    let dom = names
        .lines()
        .rfind(|l| !l.is_empty() && *l != "test" && !l.starts_with("Domain"))
        .unwrap()
        .to_string();
    same(
        &p,
        &[
            "define $DIR/rich.xml",
            &format!("dumpxml {dom}"),
            &format!("dumpxml --inactive {dom}"),
            &format!("dumpxml --security-info {dom}"),
        ],
    );
}

//! python3-libvirt (the C client library through Python) against our daemon, compared with
//! the same script against the reference.

mod common;
use common::{python, Daemon, Kind};

const SCRIPT: &str = r#"
import sys, threading, time, libvirt
uri = sys.argv[1]
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()

c = libvirt.open(uri)
print("type", c.getType(), "lib", c.getLibVersion(), "hv", c.getVersion())
print("domains", sorted(d.name() for d in c.listAllDomains()))
d = c.lookupByName("test")
info = d.info()
print("info", info[0], info[1], info[2], info[3])
print("state", d.state())
print("xml has name", "<name>test</name>" in d.XMLDesc(0))
print("uuid", d.UUIDString(), "id", d.ID())

events = []
def cb(conn, dom, event, detail, opaque):
    events.append((dom.name(), event, detail))
cid = c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)

x = c.createXML("<domain type='test'><name>py1</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>", 0)
print("created", x.name(), x.isActive(), x.isPersistent())
x.destroy()
try:
    c.lookupByName("py1")
    print("transient survived destroy")
except libvirt.libvirtError as e:
    print("gone", e.get_error_code(), e.get_error_domain())
for _ in range(200):
    if len(events) >= 2:
        break
    time.sleep(0.01)
print("events", events)
c.domainEventDeregisterAny(cid)

try:
    c.lookupByName("nosuch")
except libvirt.libvirtError as e:
    print("lookup error", e.get_error_code(), e.get_error_domain(), str(e))

ro = libvirt.openReadOnly(uri)
print("ro list", sorted(d.name() for d in ro.listAllDomains()))
try:
    ro.lookupByName("test").destroy()
    print("ro destroy allowed!")
except libvirt.libvirtError as e:
    print("ro error", e.get_error_code(), e.get_error_domain(), str(e))
ro.close()
c.close()
print("done")
"#;

#[test]
fn python_libvirt_matches_reference() {
    let ours = Daemon::start(Kind::Ours, "", &[]);
    let reference = Daemon::start(Kind::Reference, "", &[]);
    let (rc_o, out_o, err_o) = python(SCRIPT, &ours.uri());
    let (rc_r, out_r, err_r) = python(SCRIPT, &reference.uri());
    assert_eq!(rc_r, 0, "reference run failed: {err_r}");
    assert_eq!(rc_o, 0, "our run failed: {err_o}\n{out_o}");
    assert_eq!(
        out_o, out_r,
        "python3-libvirt output differs\n--- ours\n{out_o}\n--- reference\n{out_r}"
    );
    assert!(
        out_o.contains("events [('py1', 2, 0), ('py1', 5, 1)]"),
        "{out_o}"
    );
    assert!(
        out_o.contains("ro error 29")
            && out_o.contains("read only access prevents virDomainDestroy"),
        "{out_o}"
    );
}

/// A read-only socket refuses writes even when the client did not ask for read-only.
#[test]
fn read_only_socket_refuses_writes() {
    let ours = Daemon::start(Kind::Ours, "", &[]);
    let script = r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
try:
    c.lookupByName("test").destroy()
    print("allowed")
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_domain(), str(e))
"#;
    let (rc, out, err) = python(script, &ours.uri_ro());
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        out.trim(),
        "29 20 operation forbidden: read only access prevents virDomainDestroy"
    );
}

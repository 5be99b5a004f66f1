//! Test helpers: looking at our fcntl locks from another process.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// F_GETLK on byte 0 from a separate process: `None` if unlocked, else (type, holder pid).
pub fn probe(path: &Path) -> Option<(i16, i32)> {
    if !path.exists() {
        return None;
    }
    const PROBE: &str = "import fcntl, os, struct, sys\n\
fd = os.open(sys.argv[1], os.O_RDONLY)\n\
req = struct.pack('hhqqii', fcntl.F_WRLCK, 0, 0, 1, 0, 0)\n\
t, w, s, l, pid, pad = struct.unpack('hhqqii', fcntl.fcntl(fd, fcntl.F_GETLK, req))\n\
print(t, pid)\n";
    let out = Command::new(python())
        .arg("-c")
        .arg(PROBE)
        .arg(path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut it = text.split_whitespace().map(|v| v.parse::<i32>().unwrap());
    let (t, pid) = (it.next().unwrap(), it.next().unwrap());
    if t == libc::F_UNLCK {
        None
    } else {
        Some((t as i16, pid))
    }
}

/// A separate process holding an exclusive fcntl lock on byte 0 of `path` (returns once held).
pub fn hold_lock(path: &Path) -> Child {
    const HOLD: &str = "import fcntl, os, sys, time\n\
fd = os.open(sys.argv[1], os.O_RDWR)\n\
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)\n\
print('locked', flush=True)\n\
time.sleep(60)\n";
    let mut child = Command::new(python())
        .arg("-c")
        .arg(HOLD)
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

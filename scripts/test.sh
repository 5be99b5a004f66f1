#!/usr/bin/env bash
# Install what the tests need on Debian 12 (as root), then run every test of the workspace.
# The black-box tests drive the real virsh, virt-admin and python3-libvirt, and compare with
# Debian's libvirtd 9.0 (the reference), so those packages are installed here.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v virsh >/dev/null || need+=(libvirt-clients)
[ -x /usr/sbin/libvirtd ] || need+=(libvirt-daemon)
# The C libvirtd's qemu driver with a real QEMU (TCG) is the client of our virtlogd/virtlockd.
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] || need+=(libvirt-daemon-driver-qemu)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v systemd-socket-activate >/dev/null || need+=(systemd)
/usr/bin/python3 -c 'import libvirt' 2>/dev/null || need+=(python3-libvirt)
command -v setpriv >/dev/null || need+=(util-linux)
command -v useradd >/dev/null || need+=(passwd)
# The client's ssh/ext transport tests: a private sshd, the ssh client, nc -U on the far side.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v nc.openbsd >/dev/null || need+=(netcat-openbsd)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
command -v cargo >/dev/null || { echo "cargo is required (rustup)"; exit 1; }

# A Debian kernel and a busybox initrd for the test guests (downloaded once, then cached).
[ -e /var/cache/oxvirt-guest/ASSETS-OK ] || { apt-get update -q || true; }
scripts/guest-assets.sh /var/cache/oxvirt-guest || echo "test.sh: no guest kernel (guests start without a boot device)"

# Two cores: run the test binaries one at a time, each with two test threads.
cargo build --workspace --all-targets
cargo test --workspace -- --test-threads=2

#!/usr/bin/env bash
# Build the tiny bootable guest used by the session-libvirtd tests
# (crates/daemon/tests/libvirt_session_*.rs):
#   $CACHE/vmlinuz     a Debian kernel, taken from linux-image-*-amd64 with `apt-get download` +
#                      `dpkg -x` (nothing is installed)
#   $CACHE/initrd.gz   a busybox-static initramfs (cpio newc + gzip) whose /init prints
#                      "OXVIRT-GUEST-UP kernel=<release>" on the console (ttyS0 with
#                      console=ttyS0), then "OXVIRT-GUEST-TICK <n>" every ~0.2 s; after 3000
#                      ticks (~10 min: a bound for a guest a crashed test left behind) it prints
#                      "OXVIRT-GUEST-DONE" and powers off (-f; without ACPI the vCPU just halts)
#   $CACHE/cmdline     the kernel command line the tests use
#   $CACHE/ASSETS-OK   written last: its first line is the format tag below, then the packages
#
# Usage: scripts/guest-assets.sh [CACHE]       (default /var/cache/oxvirt-guest)
#   KERNEL_PKG  package to take the kernel from (default: what linux-image-cloud-amd64 depends on;
#               the cloud flavour is smaller and boots a little faster under TCG)
#
# Idempotent: exits at once when $CACHE/ASSETS-OK exists with the current format tag. Needs apt
# (the package lists: run `apt-get update` once on a fresh machine), dpkg-deb, find, gzip; nothing
# else (busybox's own cpio applet writes the archive). Downloads are kept in $CACHE/debs, so a second build after
# `rm $CACHE/ASSETS-OK` works offline.
# Every file is made world-readable: QEMU runs as the unprivileged test user.
set -euo pipefail

cache="${1:-/var/cache/oxvirt-guest}"
case "$cache" in /*) ;; *) cache="$PWD/$cache" ;; esac

# Bump when the produced files change, so that an old cache is rebuilt (from the kept .debs).
format="oxvirt-guest-assets 2"
if [ -e "$cache/ASSETS-OK" ] && [ "$(head -n1 "$cache/ASSETS-OK")" = "$format" ]; then
  echo "guest-assets: $cache already complete"
  exit 0
fi
rm -f "$cache/ASSETS-OK"

mkdir -p "$cache/debs"
chmod 0755 "$cache"

# --- download (skipped per package when its .deb is already there) ---------------------------
kpkg="${KERNEL_PKG:-}"
if [ -z "$kpkg" ]; then
  kpkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
          sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)"
fi
if [ -z "$kpkg" ]; then
  # No package lists or no meta package: take any kernel .deb already downloaded.
  kpkg="$(ls "$cache/debs" 2>/dev/null | sed -n 's/^\(linux-image-[0-9][^_]*\)_.*\.deb$/\1/p' | head -n1)"
fi
if [ -z "$kpkg" ]; then
  echo "guest-assets: cannot resolve a kernel package (run apt-get update first)" >&2
  exit 1
fi

fetch() { # $1 = package name
  if ! ls "$cache/debs/$1"_*.deb >/dev/null 2>&1; then
    (cd "$cache/debs" && apt-get download -q -o APT::Sandbox::User=root "$1") >&2
  fi
  ls "$cache/debs/$1"_*.deb | head -n1
}
kdeb="$(fetch "$kpkg")"
bdeb="$(fetch busybox-static)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- kernel --------------------------------------------------------------------------------------
dpkg-deb -x "$kdeb" "$work/k"
vmlinuz="$(ls "$work"/k/boot/vmlinuz-* | head -n1)"
install -m 0644 "$vmlinuz" "$cache/vmlinuz.tmp"
mv -f "$cache/vmlinuz.tmp" "$cache/vmlinuz"

# --- initramfs -----------------------------------------------------------------------------------
dpkg-deb -x "$bdeb" "$work/b"
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
install -m 0755 "$work/b/bin/busybox" "$root/bin/busybox"
for a in sh echo sleep mount cat uname; do ln -s busybox "$root/bin/$a"; done
cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox mount -t proc proc /proc 2>/dev/null
exec </dev/null >/dev/console 2>&1
echo "OXVIRT-GUEST-UP kernel=$(/bin/busybox uname -r)"
i=0
while [ $i -lt 3000 ]; do
  i=$((i + 1))
  echo "OXVIRT-GUEST-TICK $i"
  /bin/busybox sleep 0.2
done
echo "OXVIRT-GUEST-DONE"
/bin/busybox poweroff -f
EOF
chmod 0755 "$root/init"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
   "$root/bin/busybox" cpio -o -H newc 2>/dev/null) | gzip -9 > "$cache/initrd.gz.tmp"
chmod 0644 "$cache/initrd.gz.tmp"
mv -f "$cache/initrd.gz.tmp" "$cache/initrd.gz"

echo "console=ttyS0 quiet panic=-1" > "$cache/cmdline"
chmod 0644 "$cache/cmdline"
printf '%s\n%s\n%s\n' "$format" "$kpkg" "$(basename "$bdeb")" > "$cache/ASSETS-OK"
echo "guest-assets: built $cache (kernel from $kpkg)"

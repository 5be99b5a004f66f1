#!/usr/bin/env bash
# Install oxvirt's libvirtd with its systemd units.
#
# Usage: scripts/install.sh
#   PREFIX        installation prefix (default /usr): $PREFIX/sbin/libvirtd and
#                 $PREFIX/lib/systemd/system/libvirtd*.{service,socket}; the ExecStart= path
#                 of libvirtd.service is rewritten to $PREFIX/sbin/libvirtd.
#   DESTDIR       staging root prepended to every path (default empty, i.e. the live system).
#   LIBVIRTD_BIN  the binary to install (default target/release/libvirtd, built with
#                 `cargo build --release` when missing).
#
# Always under $DESTDIR/etc (not $PREFIX/etc), installed only when absent so that an
# administrator's edits survive a re-install:
#   /etc/default/libvirtd         environment of libvirtd.service (comments only)
#   /etc/libvirt/libvirtd.conf    commented sample
#
# Idempotent: running it again gives the same tree. It never runs systemctl.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${PREFIX:-/usr}"
destdir="${DESTDIR:-}"
bin="${LIBVIRTD_BIN:-$root/target/release/libvirtd}"

case "$prefix" in
  /*) ;;
  *) echo "install.sh: PREFIX must be an absolute path, got '$prefix'" >&2; exit 1 ;;
esac
prefix="${prefix%/}"   # "/" -> "", "/opt/x/" -> "/opt/x"

if [ ! -x "$bin" ]; then
  if [ -n "${LIBVIRTD_BIN:-}" ]; then
    echo "install.sh: LIBVIRTD_BIN=$bin is not an executable file" >&2
    exit 1
  fi
  echo "install.sh: $bin missing, building it"
  (cd "$root" && cargo build --release -p oxvirt-daemon --bin libvirtd --target-dir "$root/target")
fi

sbindir="$destdir$prefix/sbin"
unitdir="$destdir$prefix/lib/systemd/system"
defaultdir="$destdir/etc/default"
confdir="$destdir/etc/libvirt"

install -d -m 0755 "$sbindir" "$unitdir" "$defaultdir" "$confdir"

install -m 0755 "$bin" "$sbindir/libvirtd"

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
for unit in "$root"/systemd/*.service "$root"/systemd/*.socket; do
  sed "s|^ExecStart=/usr/sbin/libvirtd\\b|ExecStart=$prefix/sbin/libvirtd|" "$unit" >"$tmp"
  install -m 0644 "$tmp" "$unitdir/$(basename "$unit")"
done

if [ ! -e "$defaultdir/libvirtd" ]; then
  install -m 0644 "$root/systemd/libvirtd.default" "$defaultdir/libvirtd"
else
  echo "install.sh: keeping existing $defaultdir/libvirtd"
fi

if [ ! -e "$confdir/libvirtd.conf" ]; then
  cat >"$tmp" <<'CONF'
# /etc/libvirt/libvirtd.conf: configuration of libvirtd (oxvirt), libvirt's format and keys.
# Every line is commented out; the values shown are the defaults unless marked "example".
# Under systemd socket activation the listen_*, *_port, listen_addr and unix_sock_* keys are
# ignored: the socket units (ListenStream=, SocketMode=, SocketGroup=) decide instead.

# Network, honoured only with --listen (see /etc/default/libvirtd).
#listen_tls = 1
#listen_tcp = 0
#tls_port = "16514"
#tcp_port = "16509"
#listen_addr = "192.168.0.1"     # example; unset = every address, IPv4 and IPv6

# UNIX sockets (in /run/libvirt) and authentication. oxvirt has no polkit: "none" is the
# default for the local sockets, whose permissions are then the access control.
#unix_sock_group = "libvirt"     # example; unset = root
#unix_sock_ro_perms = "0777"
#unix_sock_rw_perms = "0700"
#unix_sock_admin_perms = "0700"
#auth_unix_ro = "none"
#auth_unix_rw = "none"
#auth_tcp = "sasl"
#auth_tls = "none"

# TLS files.
#key_file = "/etc/pki/libvirt/private/serverkey.pem"
#cert_file = "/etc/pki/libvirt/servercert.pem"
#ca_file = "/etc/pki/CA/cacert.pem"

# Limits.
#max_clients = 5000
#max_queued_clients = 1000
#max_anonymous_clients = 20
#min_workers = 5
#max_workers = 20
#prio_workers = 5
#max_client_requests = 5

# Logging: level 1 debug .. 4 error; outputs e.g. "3:stderr", "3:file:/var/log/libvirt/libvirtd.log".
#log_level = 0                   # 0 = built-in default (warnings and errors)
#log_filters = "1:qemu 3:remote" # example; unset = none
#log_outputs = "3:stderr"        # example; unset = stderr (journal under systemd)

# Keepalive: ping after keepalive_interval idle seconds, close after keepalive_count misses.
#keepalive_interval = 5
#keepalive_count = 5
CONF
  install -m 0644 "$tmp" "$confdir/libvirtd.conf"
else
  echo "install.sh: keeping existing $confdir/libvirtd.conf"
fi

echo "install.sh: installed libvirtd into ${destdir:-/} with PREFIX=$prefix"
if [ -z "$destdir" ]; then
  echo "install.sh: next: systemctl daemon-reload && systemctl enable --now libvirtd.socket"
fi

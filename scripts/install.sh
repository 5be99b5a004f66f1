#!/usr/bin/env bash
# Install oxvirt's libvirtd, virtlogd and virtlockd with their systemd units.
#
# Usage: scripts/install.sh
#   PREFIX        installation prefix (default /usr): $PREFIX/sbin/{libvirtd,virtlogd,virtlockd}
#                 and $PREFIX/lib/systemd/system/*.{service,socket}; the ExecStart= path of
#                 each service is rewritten to $PREFIX/sbin/<daemon>.
#   DESTDIR       staging root prepended to every path (default empty, i.e. the live system).
#   LIBVIRTD_BIN, VIRTLOGD_BIN, VIRTLOCKD_BIN
#                 the binaries to install (default target/release/<daemon>, built with
#                 `cargo build --release` when missing).
#
# Always under $DESTDIR/etc (not $PREFIX/etc), installed only when absent so that an
# administrator's edits survive a re-install:
#   /etc/default/<daemon>         environment of <daemon>.service (comments only)
#   /etc/libvirt/libvirtd.conf    commented sample
#   /etc/libvirt/virtlogd.conf, /etc/libvirt/virtlockd.conf   commented samples
#
# Idempotent: running it again gives the same tree. It never runs systemctl.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${PREFIX:-/usr}"
destdir="${DESTDIR:-}"

case "$prefix" in
  /*) ;;
  *) echo "install.sh: PREFIX must be an absolute path, got '$prefix'" >&2; exit 1 ;;
esac
prefix="${prefix%/}"   # "/" -> "", "/opt/x/" -> "/opt/x"

daemons=(libvirtd virtlogd virtlockd)
declare -A bins=(
  [libvirtd]="${LIBVIRTD_BIN:-$root/target/release/libvirtd}"
  [virtlogd]="${VIRTLOGD_BIN:-$root/target/release/virtlogd}"
  [virtlockd]="${VIRTLOCKD_BIN:-$root/target/release/virtlockd}"
)
for d in "${daemons[@]}"; do
  bin="${bins[$d]}"
  if [ ! -x "$bin" ]; then
    var="$(echo "$d" | tr a-z A-Z)_BIN"
    if [ -n "${!var:-}" ]; then
      echo "install.sh: $var=$bin is not an executable file" >&2
      exit 1
    fi
    echo "install.sh: $bin missing, building it"
    (cd "$root" && cargo build --release -p oxvirt-daemon --bin "$d" --target-dir "$root/target")
  fi
done

sbindir="$destdir$prefix/sbin"
unitdir="$destdir$prefix/lib/systemd/system"
defaultdir="$destdir/etc/default"
confdir="$destdir/etc/libvirt"

install -d -m 0755 "$sbindir" "$unitdir" "$defaultdir" "$confdir"

for d in "${daemons[@]}"; do
  install -m 0755 "${bins[$d]}" "$sbindir/$d"
done

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
for unit in "$root"/systemd/*.service "$root"/systemd/*.socket; do
  sed -E "s#^ExecStart=/usr/sbin/(libvirtd|virtlogd|virtlockd)\\b#ExecStart=$prefix/sbin/\\1#" "$unit" >"$tmp"
  install -m 0644 "$tmp" "$unitdir/$(basename "$unit")"
done

for d in "${daemons[@]}"; do
  if [ ! -e "$defaultdir/$d" ]; then
    install -m 0644 "$root/systemd/$d.default" "$defaultdir/$d"
  else
    echo "install.sh: keeping existing $defaultdir/$d"
  fi
done

for d in virtlogd virtlockd; do
  if [ -e "$confdir/$d.conf" ]; then
    echo "install.sh: keeping existing $confdir/$d.conf"
    continue
  fi
  {
    echo "# /etc/libvirt/$d.conf: configuration of $d (oxvirt), libvirt's format and keys."
    echo "# Every line is commented out; the values shown are the defaults."
    echo
    echo '#log_level = 0                   # 0 = built-in default (warnings and errors)'
    echo '#log_filters = "1:logging"       # example; unset = none'
    echo '#log_outputs = "3:stderr"        # example; unset = stderr (journal under systemd)'
    echo
    echo '#max_clients = 1024              # each running guest needs one connection'
    echo '#admin_max_clients = 5000'
    if [ "$d" = virtlogd ]; then
      echo
      echo '# Rotation of each guest log: size in bytes before rolling over (0 = never), and how'
      echo '# many rolled files (<log>.0 newest .. <log>.N-1) to keep (at most 32).'
      echo '#max_size = 2097152'
      echo '#max_backups = 3'
      echo '# Delete rolled-over log chains under log_root older than this many days (0 = never).'
      echo '#max_age_days = 0'
      echo '#log_root = "/var/log/libvirt/"'
    fi
  } >"$tmp"
  install -m 0644 "$tmp" "$confdir/$d.conf"
done

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

echo "install.sh: installed ${daemons[*]} into ${destdir:-/} with PREFIX=$prefix"
if [ -z "$destdir" ]; then
  echo "install.sh: next: systemctl daemon-reload && systemctl enable --now virtlogd.socket virtlockd.socket libvirtd.socket"
fi

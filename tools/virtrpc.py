"""A minimal client of libvirt's RPC framing for virtlogd's and virtlockd's programs.

Used by the black-box tests (crates/daemon/tests/support_daemons.rs runs scripts that import
it, as an unprivileged user) and by bench/support.py, against both our daemons and Debian's
C virtlogd/virtlockd. Only the standard library; every blocking call has a timeout.
"""

import array
import os
import socket
import struct

LOG_PROGRAM = 0x87539319
LOCK_PROGRAM = 0xEA7BEEF

LOG_OPEN, LOG_POSITION, LOG_READ, LOG_APPEND = 1, 2, 3, 4
(LOCK_REGISTER, LOCK_RESTRICT, LOCK_NEW, LOCK_CREATE_RESOURCE, LOCK_DELETE_RESOURCE,
 LOCK_ACQUIRE, LOCK_RELEASE, LOCK_CREATE_LOCKSPACE) = range(1, 9)

CALL, REPLY, CALL_WITH_FDS, REPLY_WITH_FDS = 0, 1, 4, 5
OK, ERROR = 0, 1


class RpcError(Exception):
    """A libvirt error reply: code, domain, message."""

    def __init__(self, code, domain, message):
        super().__init__(f"{code}/{domain}: {message}")
        self.code, self.domain, self.message = code, domain, message


def s(text):
    """XDR string (bytes or str)."""
    b = text.encode() if isinstance(text, str) else text
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def u32(self):
        v = struct.unpack_from(">I", self.b, self.o)[0]
        self.o += 4
        return v

    def i32(self):
        v = struct.unpack_from(">i", self.b, self.o)[0]
        self.o += 4
        return v

    def u64(self):
        v = struct.unpack_from(">Q", self.b, self.o)[0]
        self.o += 8
        return v

    def bytes(self):
        n = self.u32()
        v = self.b[self.o:self.o + n]
        self.o += n + (4 - n % 4) % 4
        return v

    def opt_string(self):
        return self.bytes().decode(errors="replace") if self.u32() else None


class Conn:
    """One connection to a daemon's UNIX socket; calls are sequential."""

    def __init__(self, path, program, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.program = program
        self.serial = 0
        self.pending_fds = []

    def close(self):
        self.sock.close()

    def _recv_exact(self, n):
        out = b""
        while len(out) < n:
            fds = array.array("i")
            data, anc, _, _ = self.sock.recvmsg(n - len(out), socket.CMSG_LEN(16 * fds.itemsize))
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds.frombytes(cdata[:len(cdata) - (len(cdata) % fds.itemsize)])
            self.pending_fds.extend(fds)
            if not data:
                raise ConnectionError("daemon closed the connection")
            out += data
        return out

    def call(self, proc, body=b""):
        """Send a CALL; return (reply body, passed fds). Raises RpcError on an error reply."""
        self.serial += 1
        hdr = struct.pack(">IIiiii", self.program, 1, proc, CALL, self.serial, OK)
        self.sock.sendall(u32(4 + len(hdr) + len(body)) + hdr + body)
        length = struct.unpack(">I", self._recv_exact(4))[0]
        msg = self._recv_exact(length - 4)
        _prog, _vers, _proc, typ, serial, status = struct.unpack_from(">IIiiii", msg)
        assert serial == self.serial, (serial, self.serial)
        payload = msg[24:]
        fds = []
        if typ == REPLY_WITH_FDS:
            nfds = struct.unpack_from(">I", payload)[0]
            payload = payload[4:]
            # Each fd travels with its own dummy byte after the frame.
            while len(self.pending_fds) < nfds:
                self._recv_exact(1)
            fds, self.pending_fds = self.pending_fds[:nfds], self.pending_fds[nfds:]
        if status == ERROR:
            r = Reader(payload)
            code, domain = r.i32(), r.i32()
            raise RpcError(code, domain, r.opt_string())
        return payload, fds


def domain(uuid_bytes, name):
    return uuid_bytes + s(name)


class LogClient(Conn):
    def __init__(self, path, timeout=10.0):
        super().__init__(path, LOG_PROGRAM, timeout)

    def open_log(self, path, uuid=b"\x11" * 16, name="guest", driver="qemu", flags=0):
        body, fds = self.call(LOG_OPEN, s(driver) + domain(uuid, name) + s(path) + u32(flags))
        r = Reader(body)
        return (r.u64(), r.u64()), fds[0]

    def position(self, path):
        body, _ = self.call(LOG_POSITION, s(path) + u32(0))
        r = Reader(body)
        return r.u64(), r.u64()

    def read(self, path, pos, maxlen):
        body, _ = self.call(LOG_READ, s(path) + u64(pos[0]) + u64(pos[1]) + u64(maxlen) + u32(0))
        return Reader(body).bytes()

    def append(self, path, message, uuid=b"\x11" * 16, name="guest", driver="qemu"):
        body, _ = self.call(LOG_APPEND, s(driver) + domain(uuid, name) + s(path) + s(message) + u32(0))
        return Reader(body).i32()


class LockClient(Conn):
    def __init__(self, path, timeout=10.0):
        super().__init__(path, LOCK_PROGRAM, timeout)

    def register(self, name="guest", uuid=b"\x22" * 16, owner_id=1, pid=None, flags=0):
        pid = os.getpid() if pid is None else pid
        self.call(LOCK_REGISTER, uuid + s(name) + u32(owner_id) + u32(pid) + u32(flags))

    def restrict(self):
        self.call(LOCK_RESTRICT, u32(0))

    def create_lockspace(self, path):
        self.call(LOCK_CREATE_LOCKSPACE, s(path))

    def acquire(self, lockspace, name, flags=0):
        self.call(LOCK_ACQUIRE, s(lockspace) + s(name) + u32(flags))

    def release(self, lockspace, name, flags=0):
        self.call(LOCK_RELEASE, s(lockspace) + s(name) + u32(flags))

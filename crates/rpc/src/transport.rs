//! A connected socket (UNIX or TCP) shared by a client's reader loop and writer task.
//!
//! Reads go into a [`RecvBuf`] together with any fds passed over a UNIX socket (always read
//! with `recvmsg`, because a plain `read` would silently close passed fds). Writes send bytes,
//! then each fd with its own one-byte `sendmsg`, as libvirt does.

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use tokio::io::Interest;
use tokio::net::{TcpStream, UnixStream};

/// A connected socket.
#[derive(Debug)]
pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

/// Bytes received but not yet framed, and fds received but not yet claimed.
#[derive(Debug, Default)]
pub struct RecvBuf {
    buf: Vec<u8>,
    start: usize,
    /// fds received over SCM_RIGHTS, in arrival order.
    pub fds: VecDeque<OwnedFd>,
}

impl RecvBuf {
    /// The unconsumed bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Mark `n` bytes consumed. An emptied buffer gives its memory back when it had grown
    /// large, so idle connections cost almost nothing.
    pub fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.buf.len() {
            self.start = 0;
            if self.buf.capacity() > 64 * 1024 {
                self.buf = Vec::new();
            } else {
                self.buf.clear();
            }
        }
    }

    fn append(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }
}

/// Reads land in a per-thread scratch buffer first; only bytes not yet framed are copied into
/// the connection's own [`RecvBuf`].
const SCRATCH_SIZE: usize = 256 * 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; SCRATCH_SIZE]);
}

impl Stream {
    /// Wait for data and read some into `rb`; `want` is how many unconsumed bytes the framer
    /// needs. Returns the number of bytes read (0 = peer closed). Cancel-safe.
    pub async fn read_into(&self, rb: &mut RecvBuf, want: usize) -> io::Result<usize> {
        loop {
            match self {
                Stream::Tcp(s) => s.readable().await?,
                Stream::Unix(s) => s.readable().await?,
            }
            let res = SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let room = want.saturating_sub(rb.data().len()).clamp(4096, SCRATCH_SIZE);
                let spare = &mut scratch[..room];
                let r = match self {
                    Stream::Tcp(s) => s.try_read(spare),
                    Stream::Unix(s) => {
                        let fd = s.as_raw_fd();
                        let mut got_fds = Vec::new();
                        let r = s.try_io(Interest::READABLE, || recv_with_fds(fd, spare, &mut got_fds));
                        rb.fds.extend(got_fds);
                        r
                    }
                };
                if let Ok(n) = r {
                    rb.append(&scratch[..n]);
                }
                r
            });
            match res {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Write all of `data`.
    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = match self {
                Stream::Tcp(s) => {
                    s.writable().await?;
                    s.try_write(data)
                }
                Stream::Unix(s) => {
                    s.writable().await?;
                    s.try_write(data)
                }
            };
            match n {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Pass one fd with one dummy byte (UNIX sockets only).
    pub async fn send_fd(&self, fd: &OwnedFd) -> io::Result<()> {
        let Stream::Unix(s) = self else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "fd passing needs a UNIX socket",
            ));
        };
        let raw = [fd.as_raw_fd()];
        loop {
            s.writable().await?;
            let r = s.try_io(Interest::WRITABLE, || {
                let iov = [IoSlice::new(&[0u8])];
                let cmsg = [ControlMessage::ScmRights(&raw)];
                sendmsg::<()>(s.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None)
                    .map_err(io::Error::from)
            });
            match r {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Shut down both directions (the peer sees EOF).
    pub fn shutdown(&self) {
        let fd = match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        };
        let _ = nix::sys::socket::shutdown(fd, nix::sys::socket::Shutdown::Both);
    }

    /// The TCP peer address, if any.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok(),
            Stream::Unix(_) => None,
        }
    }
}

fn recv_with_fds(fd: RawFd, spare: &mut [u8], out: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let mut cmsg = nix::cmsg_space!([RawFd; 32]);
    let mut iov = [IoSliceMut::new(spare)];
    let msg = recvmsg::<()>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(io::Error::from)?;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for f in fds {
                // SAFETY: the kernel just installed `f` in our fd table for this message;
                // nothing else owns it, so taking ownership here is the only reference.
                out.push(unsafe { OwnedFd::from_raw_fd(f) });
            }
        }
    }
    Ok(msg.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_and_fds_arrive_in_order() {
        let (a, b) = UnixStream::pair().unwrap();
        let (a, b) = (Stream::Unix(a), Stream::Unix(b));
        a.write_all(b"hello").await.unwrap();
        let f = std::fs::File::open("/dev/null").unwrap();
        a.send_fd(&OwnedFd::from(f)).await.unwrap();
        let mut rb = RecvBuf::default();
        let mut total = 0;
        while total < 6 {
            total += b.read_into(&mut rb, 6).await.unwrap();
        }
        assert_eq!(rb.data(), b"hello\0");
        assert_eq!(rb.fds.len(), 1);
        rb.consume(6);
        assert!(rb.data().is_empty());
    }
}

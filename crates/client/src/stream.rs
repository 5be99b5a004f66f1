//! Data streams (libvirt's `virStream`): console and channel I/O, volume upload and download.
//!
//! A stream belongs to the CALL that opened it: every STREAM (data, finish, abort, error) and
//! STREAM_HOLE packet carries that call's program, version, procedure and serial. The
//! connection's reader routes the server's packets here by serial (registered before the CALL
//! is written, so none is missed); this side writes its packets straight to the connection.
//!
//! Flow control: [`Stream::send`] returns once the packet is on the socket, so a sender goes at
//! the pace the server reads (libvirtd stops reading a client whose unanswered stream packets
//! reach its request limit), as with libvirt's client. The server sends one packet at a time;
//! the reader queues what arrives until [`Stream::recv`] takes it, and once more than
//! [`QUEUE_MAX`] bytes wait, the connection stops reading its socket until the consumer
//! catches up (libvirt's client queues without bound), so a slow consumer holds the server back
//! instead of growing this process.
//!
//! ```no_run
//! # async fn demo(c: oxvirt_client::Connection, vol: oxvirt_proto::remote::StorageVol)
//! # -> Result<(), oxvirt_client::ClientError> {
//! use oxvirt_client::stream::StreamItem;
//! let mut st = c.storage_vol_download(&vol, 0, 0, oxvirt_client::stream::VOL_DOWNLOAD_SPARSE).await?;
//! loop {
//!     match st.recv().await? {
//!         StreamItem::Data(bytes) => println!("{} bytes", bytes.len()),
//!         StreamItem::Hole(len) => println!("hole of {len} bytes"),
//!         StreamItem::End => break,
//!     }
//! }
//! st.finish().await?;
//! # Ok(()) }
//! ```

use crate::connection::{Connection, Inner, StreamPacket};
use crate::error::{ClientError, Disconnect};
use oxvirt_proto::header::{begin_frame, finish_frame};
use oxvirt_proto::remote::{self, procs, Domain, StorageVol};
use oxvirt_proto::{Header, MsgStatus, MsgType, RemoteError};
use oxvirt_xdr::Xdr;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Largest data payload sent in one packet (libvirt's `VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX`, the
/// chunk libvirtd itself sends).
pub const CHUNK: usize = oxvirt_proto::header::LEGACY_PAYLOAD_MAX;

/// `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`: the server sends holes as STREAM_HOLE.
pub const VOL_DOWNLOAD_SPARSE: u32 = 1;
/// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`: this side may send holes.
pub const VOL_UPLOAD_SPARSE: u32 = 1;
/// `VIR_DOMAIN_CONSOLE_FORCE`: take the console from another client.
pub const CONSOLE_FORCE: u32 = 1;
/// `VIR_DOMAIN_CONSOLE_SAFE`: refuse unless the console is safe to share.
pub const CONSOLE_SAFE: u32 = 2;

/// Undelivered stream data (all streams of a connection) beyond which the connection stops
/// reading its socket until [`Stream::recv`] catches up: the server then stops sending (a full
/// socket), instead of this process buffering a whole volume. Replies to other calls on the
/// connection wait meanwhile.
pub const QUEUE_MAX: usize = 16 << 20;

/// How long `finish`/`abort` wait for the server's confirmation.
const CONFIRM_BOUND: Duration = Duration::from_secs(60);

/// The wire structs of the stream calls (fields as libvirt's protocol names them).
pub mod wire {
    #![allow(missing_docs)]
    use oxvirt_proto::remote::{Domain, StorageVol};
    use oxvirt_xdr::xdr_struct;

    xdr_struct! {
        /// `remote_storage_vol_upload_args` / `remote_storage_vol_download_args`.
        pub struct VolTransferArgs { pub vol: StorageVol, pub offset: u64, pub length: u64, pub flags: u32 }
        /// `remote_domain_open_console_args`.
        pub struct DomainOpenConsoleArgs { pub dom: Domain, pub dev_name: Option<String>, pub flags: u32 }
        /// `virNetStreamHole`.
        pub struct StreamHole { pub length: i64, pub flags: u32 }
    }
}
pub use wire::{DomainOpenConsoleArgs, StreamHole, VolTransferArgs};

/// What [`Stream::recv`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    /// Bytes.
    Data(Vec<u8>),
    /// A hole of this many bytes (sparse streams only).
    Hole(i64),
    /// The server finished sending (an empty data packet, or its finish). For a download, call
    /// [`Stream::finish`] next, as libvirt's client does.
    End,
}

/// A stream opened by a call. Dropping it without [`Stream::finish`] or [`Stream::abort`] sends
/// an abort.
pub struct Stream {
    inner: Arc<Inner>,
    hdr: Header,
    rx: mpsc::UnboundedReceiver<Result<StreamPacket, ClientError>>,
    /// Packets taken off `rx` while sending (looking for a server error), kept for `recv`.
    stash: VecDeque<StreamPacket>,
    /// The server finished or failed: no more packets will come.
    ended: bool,
    /// finish/abort done: nothing to clean up on drop.
    closed: bool,
}

/// A clonable handle that sends on a stream (for full-duplex use such as a console, while
/// another task calls [`Stream::recv`]).
#[derive(Clone)]
pub struct StreamSender {
    inner: Arc<Inner>,
    hdr: Header,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("proc", &self.hdr.proc_)
            .field("serial", &self.hdr.serial)
            .finish()
    }
}

fn packet(hdr: &Header, kind: MsgType, status: MsgStatus, payload: &[u8]) -> Vec<u8> {
    let h = Header {
        kind,
        status,
        ..*hdr
    };
    let mut out = Vec::with_capacity(28 + payload.len());
    begin_frame(&mut out, &h);
    out.extend_from_slice(payload);
    finish_frame(&mut out, 0);
    out
}

fn stream_error(payload: &[u8]) -> ClientError {
    match oxvirt_xdr::from_bytes::<RemoteError>(payload) {
        Ok(e) => ClientError::from_remote(e.0),
        Err(_) => ClientError::Protocol("stream aborted by the server".into()),
    }
}

impl StreamSender {
    /// Sends `data` (in packets of at most [`CHUNK`] bytes); returns once it is on the socket.
    pub async fn send(&self, data: &[u8]) -> Result<(), ClientError> {
        for chunk in data.chunks(CHUNK) {
            let f = packet(&self.hdr, MsgType::Stream, MsgStatus::Continue, chunk);
            self.inner.send_flushed(&f).await?;
        }
        Ok(())
    }

    /// Sends a hole of `length` bytes (the stream must have been opened sparse).
    pub async fn send_hole(&self, length: i64, flags: u32) -> Result<(), ClientError> {
        let body = oxvirt_xdr::to_bytes(&StreamHole { length, flags });
        let f = packet(&self.hdr, MsgType::StreamHole, MsgStatus::Continue, &body);
        self.inner.send_flushed(&f).await
    }
}

impl Stream {
    /// A handle to send on this stream from another task.
    pub fn sender(&self) -> StreamSender {
        StreamSender {
            inner: self.inner.clone(),
            hdr: self.hdr,
        }
    }

    /// The serial of the call that opened the stream.
    pub fn serial(&self) -> u32 {
        self.hdr.serial
    }

    /// Sends `data`; see [`StreamSender::send`]. Fails with the server's error if it already
    /// aborted the stream.
    pub async fn send(&mut self, data: &[u8]) -> Result<(), ClientError> {
        self.check_error()?;
        self.sender().send(data).await
    }

    /// Sends a hole; see [`StreamSender::send_hole`].
    pub async fn send_hole(&mut self, length: i64, flags: u32) -> Result<(), ClientError> {
        self.check_error()?;
        self.sender().send_hole(length, flags).await
    }

    /// A server error already queued (uploads: the server failed while we were sending).
    fn check_error(&mut self) -> Result<(), ClientError> {
        while let Ok(p) = self.rx.try_recv() {
            let p = p?;
            if p.kind == MsgType::Stream && p.status == MsgStatus::Error {
                self.inner.stream_consumed(p.payload.len());
                self.ended = true;
                self.inner.remove_stream(self.hdr.serial);
                return Err(stream_error(&p.payload));
            }
            // Full duplex (a console): data from the server waits for `recv`.
            self.stash.push_back(p);
        }
        Ok(())
    }

    /// The next item from the server: data, a hole, or the end. A server error (the stream
    /// failed or was aborted there) is returned as the libvirt error.
    pub async fn recv(&mut self) -> Result<StreamItem, ClientError> {
        if self.ended {
            return Ok(StreamItem::End);
        }
        let p = match self.stash.pop_front() {
            Some(p) => p,
            None => match self.rx.recv().await {
                Some(p) => p?,
                None => return Err(ClientError::Disconnected(self.inner.dead_reason())),
            },
        };
        self.inner.stream_consumed(p.payload.len());
        match (p.kind, p.status) {
            (MsgType::Stream, MsgStatus::Continue) if p.payload.is_empty() => {
                self.ended = true;
                Ok(StreamItem::End)
            }
            (MsgType::Stream, MsgStatus::Continue) => Ok(StreamItem::Data(p.payload)),
            (MsgType::StreamHole, _) => {
                let h: StreamHole = oxvirt_xdr::from_bytes(&p.payload)?;
                Ok(StreamItem::Hole(h.length))
            }
            (MsgType::Stream, MsgStatus::Ok) => {
                self.ended = true;
                Ok(StreamItem::End)
            }
            (MsgType::Stream, MsgStatus::Error) => {
                self.ended = true;
                self.closed = true;
                self.inner.remove_stream(self.hdr.serial);
                Err(stream_error(&p.payload))
            }
            (k, s) => Err(ClientError::Protocol(format!(
                "unexpected stream packet type {} status {}",
                k.to_i32(),
                s.to_i32()
            ))),
        }
    }

    /// Waits (bounded) for the server's STREAM/OK or STREAM/ERROR, skipping data.
    async fn confirmation(&mut self) -> Result<(), ClientError> {
        let stashed = std::mem::take(&mut self.stash);
        for p in stashed {
            self.inner.stream_consumed(p.payload.len());
            match (p.kind, p.status) {
                (MsgType::Stream, MsgStatus::Ok) => return Ok(()),
                (MsgType::Stream, MsgStatus::Error) => return Err(stream_error(&p.payload)),
                _ => {}
            }
        }
        let wait = async {
            loop {
                let p = match self.rx.recv().await {
                    Some(p) => p?,
                    None => return Err(ClientError::Disconnected(self.inner.dead_reason())),
                };
                self.inner.stream_consumed(p.payload.len());
                match (p.kind, p.status) {
                    (MsgType::Stream, MsgStatus::Ok) => return Ok(()),
                    (MsgType::Stream, MsgStatus::Error) => return Err(stream_error(&p.payload)),
                    _ => {}
                }
            }
        };
        match tokio::time::timeout(CONFIRM_BOUND, wait).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Protocol(
                "the server did not confirm the end of the stream".into(),
            )),
        }
    }

    /// Finishes the stream: sends STREAM/OK and waits for the server's confirmation (uploads:
    /// the server has written everything; downloads: after [`StreamItem::End`]).
    pub async fn finish(mut self) -> Result<(), ClientError> {
        self.closed = true;
        let f = packet(&self.hdr, MsgType::Stream, MsgStatus::Ok, &[]);
        let r = match self.inner.send_flushed(&f).await {
            Ok(()) => self.confirmation().await,
            Err(e) => Err(e),
        };
        self.inner.remove_stream(self.hdr.serial);
        r
    }

    /// Aborts the stream: sends STREAM/ERROR (empty) and waits for the server's answer.
    pub async fn abort(mut self) -> Result<(), ClientError> {
        self.closed = true;
        let f = packet(&self.hdr, MsgType::Stream, MsgStatus::Error, &[]);
        let r = match self.inner.send_flushed(&f).await {
            Ok(()) => match self.confirmation().await {
                // libvirtd answers an abort with an error saying it was aborted.
                Ok(()) | Err(ClientError::Libvirt(_)) => Ok(()),
                Err(e) => Err(e),
            },
            Err(ClientError::Disconnected(Disconnect::Closed)) => Ok(()),
            Err(e) => Err(e),
        };
        self.inner.remove_stream(self.hdr.serial);
        r
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if !self.closed && !self.ended {
            let f = packet(&self.hdr, MsgType::Stream, MsgStatus::Error, &[]);
            let _ = self.inner.send_nowait(&f);
        }
        self.inner.remove_stream(self.hdr.serial);
        // What was received and never taken no longer holds the connection's reading back.
        let mut left: usize = self.stash.drain(..).map(|p| p.payload.len()).sum();
        while let Ok(p) = self.rx.try_recv() {
            if let Ok(p) = p {
                left += p.payload.len();
            }
        }
        self.inner.stream_consumed(left);
    }
}

impl Connection {
    /// Bytes of stream data received on this connection and not yet taken by
    /// [`Stream::recv`] (bounded by about [`QUEUE_MAX`] plus one read).
    pub fn queued_stream_bytes(&self) -> usize {
        self.inner.queued_stream_bytes()
    }

    /// Calls a procedure that opens a stream (its REPLY first, then stream packets) and returns
    /// the stream with the reply's payload.
    pub async fn open_stream<A: Xdr>(
        &self,
        prog: u32,
        vers: u32,
        proc_: i32,
        args: &A,
    ) -> Result<(Stream, Vec<u8>), ClientError> {
        let hdr = Header {
            prog,
            vers,
            proc_,
            kind: MsgType::Call,
            serial: self.inner.next_serial(),
            status: MsgStatus::Continue,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner.add_stream(hdr.serial, tx)?;
        let call = Header {
            status: MsgStatus::Ok,
            ..hdr
        };
        let body = match self.call_serial(call, args, Vec::new(), None).await {
            Ok((body, _)) => body,
            Err(e) => {
                self.inner.remove_stream(hdr.serial);
                return Err(e);
            }
        };
        Ok((
            Stream {
                inner: self.inner.clone(),
                hdr,
                rx,
                stash: VecDeque::new(),
                ended: false,
                closed: false,
            },
            body,
        ))
    }

    /// Opens a volume upload or download stream (both take the same arguments).
    async fn vol_transfer(
        &self,
        proc_: i32,
        vol: &StorageVol,
        offset: u64,
        length: u64,
        flags: u32,
    ) -> Result<Stream, ClientError> {
        let args = VolTransferArgs {
            vol: vol.clone(),
            offset,
            length,
            flags,
        };
        let (stream, _) = self
            .open_stream(remote::PROGRAM, remote::VERSION, proc_, &args)
            .await?;
        Ok(stream)
    }

    /// `virStorageVolUpload`: send the volume's new contents from `offset` (`length` 0: to the
    /// end) on the returned stream, then [`Stream::finish`]. `flags` may hold
    /// [`VOL_UPLOAD_SPARSE`] to send holes.
    pub async fn storage_vol_upload(
        &self,
        vol: &StorageVol,
        offset: u64,
        length: u64,
        flags: u32,
    ) -> Result<Stream, ClientError> {
        self.vol_transfer(procs::STORAGE_VOL_UPLOAD, vol, offset, length, flags)
            .await
    }

    /// `virStorageVolDownload`: the volume's contents from `offset` (`length` 0: to the end)
    /// arrive on the returned stream; with [`VOL_DOWNLOAD_SPARSE`] holes arrive as
    /// [`StreamItem::Hole`]. After [`StreamItem::End`], call [`Stream::finish`].
    pub async fn storage_vol_download(
        &self,
        vol: &StorageVol,
        offset: u64,
        length: u64,
        flags: u32,
    ) -> Result<Stream, ClientError> {
        self.vol_transfer(procs::STORAGE_VOL_DOWNLOAD, vol, offset, length, flags)
            .await
    }

    /// `virDomainOpenConsole`: a full-duplex stream of the guest's console `dev_name` (`None`:
    /// the first console). Guest output arrives with [`Stream::recv`]; keystrokes go with
    /// [`Stream::send`] or a [`StreamSender`].
    pub async fn domain_open_console(
        &self,
        dom: &Domain,
        dev_name: Option<&str>,
        flags: u32,
    ) -> Result<Stream, ClientError> {
        let args = DomainOpenConsoleArgs {
            dom: dom.clone(),
            dev_name: dev_name.map(str::to_string),
            flags,
        };
        Ok(self
            .open_stream(
                remote::PROGRAM,
                remote::VERSION,
                procs::DOMAIN_OPEN_CONSOLE,
                &args,
            )
            .await?
            .0)
    }
}

//! The I/O sides of a connection: direct and queued writes (`SockWriter`, the writer tasks),
//! the reader tasks and a lone caller's own read, framing, dispatch of what arrives (replies,
//! stream packets, events, keepalive), and the keepalive task. `Connection` and `Inner` in the
//! parent module call in here; nothing here is public outside `connection`.

use super::*;

impl SockWriter {
    /// Writes what the socket takes now; queues the rest for the writer task. `Err(None)`: the
    /// connection is closed; `Err(Some(e))`: the write failed.
    pub(super) fn send(
        &self,
        bytes: &[u8],
        fds: Vec<OwnedFd>,
        done: Option<oneshot::Sender<()>>,
        direct: bool,
    ) -> Result<(), Option<io::Error>> {
        let mut q = self.q.lock().unwrap();
        if q.closed {
            return Err(None);
        }
        let mut off = 0;
        let mut fds: VecDeque<OwnedFd> = fds.into();
        if q.q.is_empty()
            && direct
            && write_some(&self.sock, bytes, &mut off, &mut fds).map_err(Some)?
        {
            drop(q);
            if let Some(d) = done {
                let _ = d.send(());
            }
            return Ok(());
        }
        let was_empty = q.q.is_empty();
        q.q.push_back(OutFrame {
            bytes: bytes[off..].to_vec(),
            off: 0,
            fds,
            dones: done.into_iter().collect(),
        });
        drop(q);
        if was_empty {
            self.wake.notify_one();
        }
        Ok(())
    }
}

/// Writes as much of a frame as the socket takes now: `true` once its bytes and fds are out.
pub(super) fn write_some(
    sock: &Sock,
    bytes: &[u8],
    off: &mut usize,
    fds: &mut VecDeque<OwnedFd>,
) -> io::Result<bool> {
    while *off < bytes.len() {
        match sock.try_send(&bytes[*off..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => *off += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    while let Some(fd) = fds.front() {
        match sock.try_send_fd(fd.as_raw_fd()) {
            Ok(()) => {
                fds.pop_front();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

pub(super) fn ping_frame(proc_: i32) -> Vec<u8> {
    let h = Header {
        prog: keepalive::PROGRAM,
        vers: keepalive::VERSION,
        proc_,
        kind: MsgType::Message,
        serial: 0,
        status: MsgStatus::Ok,
    };
    frame(&h, &())
}

pub(super) async fn keepalive_loop(inner: Weak<Inner>, interval: Duration, count: u32) {
    let deadline = interval * (count + 1);
    let tick = (interval / 4).max(Duration::from_millis(10));
    let mut last_ping = Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let Some(i) = inner.upgrade() else { return };
        if i.stalled.load(Ordering::Acquire) {
            // We stopped reading (a slow stream consumer), not the server.
            *i.last_rx.lock().unwrap() = Instant::now();
        }
        let idle = i.last_rx.lock().unwrap().elapsed();
        if idle >= deadline {
            tracing::warn!(?idle, "no message from the server: keepalive timeout");
            i.kill(Disconnect::KeepaliveTimeout);
            return;
        }
        if idle >= interval && last_ping.elapsed() >= interval {
            last_ping = Instant::now();
            if i.send(&ping_frame(keepalive::PROC_PING), Vec::new(), None)
                .is_err()
            {
                return;
            }
        }
    }
}

/// Merges queued frames without fds into the first one (up to 256 KiB), so that the frames of
/// many concurrent callers go out in one write.
pub(super) fn merge_queued(q: &mut VecDeque<OutFrame>) {
    if q.len() < 2 {
        return;
    }
    let Some(first) = q.front() else { return };
    if first.off != 0 || !first.fds.is_empty() {
        return;
    }
    let mut merged = q.pop_front().expect("front exists");
    while merged.bytes.len() < 256 * 1024 {
        match q.front() {
            Some(f) if f.off == 0 && f.fds.is_empty() => {
                let f = q.pop_front().expect("front exists");
                merged.bytes.extend_from_slice(&f.bytes);
                merged.dones.extend(f.dones);
            }
            _ => break,
        }
    }
    q.push_front(merged);
}

/// Flushes what callers could not write directly, waiting for the socket to take it.
pub(super) async fn sock_writer(w: Arc<SockWriter>, inner: Weak<Inner>) {
    loop {
        w.wake.notified().await;
        loop {
            let step = {
                let mut q = w.q.lock().unwrap();
                if q.closed {
                    return;
                }
                merge_queued(&mut q.q);
                let Some(f) = q.q.front_mut() else { break };
                match write_some(&w.sock, &f.bytes, &mut f.off, &mut f.fds) {
                    Ok(true) => {
                        let f = q.q.pop_front().expect("front exists");
                        drop(q);
                        for d in f.dones {
                            let _ = d.send(());
                        }
                        continue;
                    }
                    Ok(false) => Ok(()),
                    Err(e) => Err(e),
                }
            };
            let step = match step {
                Ok(()) => w.sock.writable().await,
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                if let Some(i) = inner.upgrade() {
                    i.write_failed(e);
                }
                return;
            }
        }
    }
}

/// The writer of a boxed transport: frames in order, batched into few writes.
pub(super) async fn chan_writer(
    inner: Weak<Inner>,
    mut wr: tokio::io::WriteHalf<Box<dyn Stream>>,
    mut rx: mpsc::UnboundedReceiver<OutFrame>,
) {
    let mut buf = Vec::new();
    let mut dones = Vec::new();
    while let Some(f) = rx.recv().await {
        buf.clear();
        buf.extend_from_slice(&f.bytes[f.off..]);
        dones.extend(f.dones);
        while buf.len() < 256 * 1024 {
            match rx.try_recv() {
                Ok(f) => {
                    buf.extend_from_slice(&f.bytes[f.off..]);
                    dones.extend(f.dones);
                }
                Err(_) => break,
            }
        }
        if let Err(e) = async {
            wr.write_all(&buf).await?;
            wr.flush().await
        }
        .await
        {
            if let Some(i) = inner.upgrade() {
                i.write_failed(e);
            }
            return;
        }
        for d in dones.drain(..) {
            let _ = d.send(());
        }
    }
    let _ = wr.shutdown().await;
}

pub(super) fn read_error(e: io::Error) -> Disconnect {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        // A transport command's stderr travels as the error's text (see crate::transport).
        match e.get_ref() {
            Some(text) => Disconnect::EofWith(text.to_string()),
            None => Disconnect::Eof,
        }
    } else {
        Disconnect::Io(e.to_string())
    }
}

/// Frames and dispatches everything complete in `rb`; returns how many unconsumed bytes the
/// framer needs next.
pub(super) fn frame_all(i: &Inner, rb: &mut RecvBuf) -> Result<usize, Disconnect> {
    use oxvirt_proto::header::{parse, payload_offset, FrameError, Parsed};
    loop {
        let (h, total, nfds) = match parse(rb.data()) {
            Ok(Parsed::Need(n)) => return Ok(n),
            Ok(Parsed::Frame { len, header, nfds }) => (header, len, nfds),
            Err(FrameError::BadLength(n)) => {
                return Err(Disconnect::Protocol(format!(
                    "packet {n} bytes received from server too large"
                )))
            }
            Err(FrameError::TooManyFds(n)) => {
                return Err(Disconnect::Protocol(format!(
                    "Received too many FDs {n}, expected {} maximum",
                    crate::io::NUM_FDS_MAX
                )))
            }
        };
        let start = payload_offset(&h);
        if start > total {
            return Err(Disconnect::Protocol("missing fd count".into()));
        }
        // The fds follow the frame, one dummy byte each.
        if rb.data().len() < total + nfds {
            return Ok(total + nfds);
        }
        if rb.fds.len() < nfds {
            return Err(Disconnect::Protocol("announced fds did not arrive".into()));
        }
        let fds: Vec<OwnedFd> = rb.fds.drain(..nfds).collect();
        dispatch(i, h, &rb.data()[start..total], fds)?;
        rb.consume(total + nfds);
    }
}

/// After a read: note the traffic (keepalive) and refuse fds no message announced.
pub(super) fn after_read(i: &Inner, rb: &RecvBuf) -> Result<(), Disconnect> {
    *i.last_rx.lock().unwrap() = Instant::now();
    if rb.fds.len() > 2 * crate::io::NUM_FDS_MAX {
        return Err(Disconnect::Protocol(
            "server passed fds no message announced".into(),
        ));
    }
    Ok(())
}

impl Inner {
    /// One read of a socket transport that was seen readable, then framing and dispatch of
    /// what arrived. Run by the reader task, and by a lone caller waiting for its reply.
    pub(super) fn read_step(&self, sr: &SockRead, ready: ReadReady<'_>) -> Result<(), Disconnect> {
        let mut st = sr.state.lock().unwrap();
        let st = &mut *st;
        match sr.sock.read_ready(ready, &mut st.rb, st.want) {
            Ok(None) => Ok(()),
            Ok(Some(0)) => Err(Disconnect::Eof),
            Ok(Some(_)) => {
                after_read(self, &st.rb)?;
                st.want = frame_all(self, &mut st.rb)?;
                Ok(())
            }
            Err(e) => Err(read_error(e)),
        }
    }

    /// Waits for a reply; meanwhile reads the socket itself when it becomes readable, so that
    /// the reply reaches this task without a hop through the reader task (and the runtime's
    /// extra poll that a task-to-task wake-up costs).
    pub(super) async fn wait_helping(
        &self,
        sr: &SockRead,
        mut rx: oneshot::Receiver<ReplyResult>,
    ) -> Result<ReplyResult, oneshot::error::RecvError> {
        loop {
            let step = {
                let readable = sr.sock.readable();
                tokio::pin!(readable);
                std::future::poll_fn(|cx| {
                    if let Poll::Ready(r) = Pin::new(&mut rx).poll(cx) {
                        return Poll::Ready(Err(r));
                    }
                    readable.as_mut().poll(cx).map(Ok)
                })
                .await
            };
            match step {
                Err(r) => return r,
                Ok(Ok(ready)) => {
                    if let Err(why) = self.read_step(sr, ready) {
                        self.kill(why);
                    }
                }
                Ok(Err(e)) => self.kill(Disconnect::Io(e.to_string())),
            }
        }
    }
}

/// The reader task of a socket transport.
pub(super) async fn sock_reader(inner: Weak<Inner>, sock: Arc<Sock>) {
    loop {
        if let Some(i) = inner.upgrade() {
            if i.reading_paused() {
                i.wait_stream_room().await;
            }
        }
        let ready = sock.readable().await;
        let Some(i) = inner.upgrade() else { return };
        let Some(sr) = &i.sock_read else { return };
        let r = match ready {
            Ok(ready) => i.read_step(sr, ready),
            Err(e) => Err(Disconnect::Io(e.to_string())),
        };
        if let Err(why) = r {
            i.kill(why);
            return;
        }
        if i.state.lock().unwrap().dead.is_some() {
            return;
        }
    }
}

/// The reader task of a boxed transport.
pub(super) async fn boxed_reader(inner: Weak<Inner>, mut rd: tokio::io::ReadHalf<Box<dyn Stream>>) {
    let mut rb = RecvBuf::new();
    let mut want = LEN_SIZE;
    let why = loop {
        if let Some(i) = inner.upgrade() {
            if i.reading_paused() {
                i.wait_stream_room().await;
            }
        }
        let n = crate::io::read_boxed(&mut rd, &mut rb, want).await;
        let Some(i) = inner.upgrade() else { return };
        match n {
            Ok(0) => break Disconnect::Eof,
            Ok(_) => {}
            Err(e) => break read_error(e),
        }
        if let Err(why) = after_read(&i, &rb) {
            break why;
        }
        match frame_all(&i, &mut rb) {
            Ok(w) => want = w,
            Err(why) => break why,
        }
    };
    if let Some(i) = inner.upgrade() {
        i.kill(why);
    }
}

pub(super) fn dispatch(
    i: &Inner,
    h: Header,
    payload: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<(), Disconnect> {
    if h.prog == keepalive::PROGRAM {
        if h.kind == MsgType::Message && h.proc_ == keepalive::PROC_PING {
            let _ = i.send(&ping_frame(keepalive::PROC_PONG), Vec::new(), None);
        }
        return Ok(());
    }
    match h.kind {
        MsgType::Reply | MsgType::ReplyWithFds => {
            let p = i.state.lock().unwrap().pending.remove(&h.serial);
            let Some(p) = p else {
                return Err(Disconnect::Protocol(format!(
                    "no call waiting for reply with prog {} vers {} serial {}",
                    h.prog, h.vers, h.serial
                )));
            };
            if h.status == MsgStatus::Ok && h.prog == remote::PROGRAM {
                if let Some(f) = p.on_ok {
                    f(payload);
                }
            }
            let _ = p.tx.send(Ok((h, payload.to_vec(), fds)));
            Ok(())
        }
        MsgType::Stream | MsgType::StreamHole => {
            let st = i.state.lock().unwrap();
            match st.streams.get(&h.serial) {
                Some(tx) => {
                    i.stream_bytes.fetch_add(payload.len(), Ordering::AcqRel);
                    let _ = tx.send(Ok(StreamPacket {
                        kind: h.kind,
                        status: h.status,
                        payload: payload.to_vec(),
                    }));
                }
                None => tracing::debug!(
                    serial = h.serial,
                    proc_ = h.proc_,
                    "no stream found for packet: dropped"
                ),
            }
            Ok(())
        }
        MsgType::Message if h.prog == remote::PROGRAM => {
            i.events.lock().unwrap().dispatch(h.proc_, payload);
            Ok(())
        }
        MsgType::Message if h.prog == remote::QEMU_PROGRAM || h.prog == remote::LXC_PROGRAM => {
            tracing::debug!(prog = h.prog, proc_ = h.proc_, "ignoring event");
            Ok(())
        }
        MsgType::Message => Err(Disconnect::Protocol(format!(
            "unexpected message from program {} version {}",
            h.prog, h.vers
        ))),
        other => {
            tracing::debug!(?other, "ignoring message of unexpected type");
            Ok(())
        }
    }
}

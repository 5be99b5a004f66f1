//! Opening a connection: choosing the endpoint (URI, environment, `libvirt.conf`), connecting
//! the transport, starting the reader and writer tasks of `tasks`, and the open handshake
//! (AUTH_LIST, feature probes, CONNECT_OPEN), as the C client does it. Moved out of the parent
//! module, which holds the shared state and the call API.

use super::*;

fn effective_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

impl Connection {
    /// Opens `uri` (`None`: `LIBVIRT_DEFAULT_URI`, `uri_default`, then probing) as the C client
    /// does: decides the endpoint from the process environment and `libvirt.conf`, connects and
    /// runs the open handshake. UNIX, TCP, ssh and ext endpoints are supported; a missing session daemon
    /// is started as libvirt's client starts it ([`crate::autostart`]).
    pub async fn open(uri: Option<&str>, read_only: bool) -> Result<Connection, ClientError> {
        let env = Env::from_process();
        let euid = effective_uid();
        let conf = match ClientConf::path(euid, &env) {
            Ok(p) => match std::fs::read_to_string(&p) {
                Ok(text) => ClientConf::parse(&p.to_string_lossy(), &text)
                    .map_err(|e| ClientError::Config(e.to_string()))?,
                Err(_) => ClientConf::default(),
            },
            Err(_) => ClientConf::default(),
        };
        let parsed = select::select_uri(uri, &env, &conf, false)
            .map_err(|e| ClientError::Config(e.to_string()))?;
        let ctx = sockets::Context::new(euid, &env, &conf);
        let plan = sockets::plan(parsed.as_ref(), read_only, &ctx)
            .map_err(|e| ClientError::Config(e.to_string()))?;
        Self::open_plan(&plan, read_only).await
    }

    /// Connects to a planned endpoint and runs the handshake.
    pub async fn open_plan(
        plan: &sockets::ConnectPlan,
        read_only: bool,
    ) -> Result<Connection, ClientError> {
        let stream: Box<dyn Stream> = match &plan.endpoint {
            sockets::Endpoint::Unix(u) => Box::new(crate::autostart::connect(u).await?),
            sockets::Endpoint::Tcp { host, port } => {
                let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| ClientError::Connect {
                        target: format!("{host}:{port}"),
                        reason: e.to_string(),
                    })?;
                let _ = s.set_nodelay(true);
                Box::new(s)
            }
            sockets::Endpoint::Ssh { .. } | sockets::Endpoint::Ext { .. } => {
                Box::new(crate::transport::connect(&plan.endpoint)?)
            }
            sockets::Endpoint::Tls { .. } => return Err(crate::transport::tls_unsupported()),
        };
        let conn = Self::start(stream)?;
        conn.inner.read_only.store(read_only, Ordering::Relaxed);
        conn.handshake(plan).await?;
        Ok(conn)
    }

    /// Connects to a UNIX socket **without** the REMOTE open handshake, for programs that have
    /// none (virtlogd's and virtlockd's, the admin program before its own open): calls go
    /// straight to [`Connection::call_program`] / [`Connection::call_with_fds`], serials from 0.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), oxvirt_client::ClientError> {
    /// let c = oxvirt_client::Connection::connect_unix_raw("/run/libvirt/virtlogd-sock").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_unix_raw(path: impl AsRef<Path>) -> Result<Connection, ClientError> {
        let path = path.as_ref();
        let s = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|e| ClientError::Connect {
                target: path.display().to_string(),
                reason: e.to_string(),
            })?;
        Self::raw_from_stream(s)
    }

    /// Wraps an already connected stream (a tokio `UnixStream` or `TcpStream` is driven
    /// directly, fd passing included on UNIX; anything else through a writer task) without any
    /// handshake. Must be called inside a tokio runtime.
    pub fn raw_from_stream<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(
        stream: S,
    ) -> Result<Connection, ClientError> {
        Self::start(Box::new(stream))
    }

    fn start(stream: Box<dyn Stream>) -> Result<Connection, ClientError> {
        let io_err = |e: io::Error| ClientError::Connect {
            target: "socket".into(),
            reason: e.to_string(),
        };
        let sock = if Stream::as_any(&*stream).is::<tokio::net::UnixStream>() {
            let s = stream
                .into_any()
                .downcast::<tokio::net::UnixStream>()
                .expect("checked type");
            Ok(Sock::unix(*s).map_err(io_err)?)
        } else if Stream::as_any(&*stream).is::<tokio::net::TcpStream>() {
            let s = stream
                .into_any()
                .downcast::<tokio::net::TcpStream>()
                .expect("checked type");
            Ok(Sock::tcp(*s).map_err(io_err)?)
        } else {
            Err(stream)
        };
        let (closed_tx, _) = watch::channel(None);
        let new_inner = |writer, sock_read| {
            Arc::new_cyclic(|me| Inner {
                serial: AtomicU32::new(0),
                sock_read,
                stream_bytes: AtomicUsize::new(0),
                stream_drained: Notify::new(),
                stalled: AtomicBool::new(false),
                state: Mutex::new(State::default()),
                writer,
                last_rx: Mutex::new(Instant::now()),
                events: Mutex::new(EventRoutes::default()),
                tasks: Mutex::new(Vec::new()),
                keepalive: Mutex::new(None),
                features: Mutex::new(Features::default()),
                uri: Mutex::new(None),
                read_only: AtomicBool::new(false),
                closing: AtomicBool::new(false),
                write_err: Mutex::new(None),
                me: me.clone(),
                closed_tx,
            })
        };
        let inner = match sock {
            Ok(sock) => {
                let sock = Arc::new(sock);
                let w = Arc::new(SockWriter {
                    sock: sock.clone(),
                    q: Mutex::new(WriteQueue::default()),
                    wake: Notify::new(),
                });
                let sr = SockRead {
                    sock: sock.clone(),
                    state: Mutex::new(ReadState {
                        rb: RecvBuf::new(),
                        want: LEN_SIZE,
                    }),
                };
                let inner = new_inner(Writer::Sock(w.clone()), Some(sr));
                let wt = tokio::spawn(sock_writer(w, Arc::downgrade(&inner)));
                let rt = tokio::spawn(sock_reader(Arc::downgrade(&inner), sock));
                inner.tasks.lock().unwrap().extend([wt, rt]);
                inner
            }
            Err(stream) => {
                let (rd, wr) = tokio::io::split(stream);
                let (tx, rx) = mpsc::unbounded_channel();
                let inner = new_inner(Writer::Chan(tx), None);
                let wt = tokio::spawn(chan_writer(Arc::downgrade(&inner), wr, rx));
                let rt = tokio::spawn(boxed_reader(Arc::downgrade(&inner), rd));
                inner.tasks.lock().unwrap().extend([wt, rt]);
                inner
            }
        };
        Ok(Connection { inner })
    }

    async fn handshake(&self, plan: &sockets::ConnectPlan) -> Result<(), ClientError> {
        match self
            .call::<(), remote::AuthListRet>(procs::AUTH_LIST, &())
            .await
        {
            Ok(r) => {
                if let Some(&first) = r.types.first() {
                    if first != remote::AUTH_NONE {
                        return Err(ClientError::AuthUnsupported(first));
                    }
                }
            }
            Err(ClientError::NotSupported(_)) => {}
            Err(e) => return Err(e),
        }
        let keepalive = self.supports_feature(FEATURE_PROGRAM_KEEPALIVE).await?;
        self.call::<_, ()>(
            procs::CONNECT_OPEN,
            &remote::ConnectOpenArgs {
                name: Some(plan.open_name.clone()),
                flags: plan.open_flags,
            },
        )
        .await?;
        let uri = if plan.query_uri_after_open {
            self.call::<(), remote::StringRet>(procs::CONNECT_GET_URI, &())
                .await?
                .value
        } else {
            plan.open_name.clone()
        };
        *self.inner.uri.lock().unwrap() = Some(uri);
        let event_callback = self.supports_feature(FEATURE_REMOTE_EVENT_CALLBACK).await?;
        let close_callback = self.supports_feature(FEATURE_REMOTE_CLOSE_CALLBACK).await?;
        *self.inner.features.lock().unwrap() = Features {
            keepalive,
            event_callback,
            close_callback,
        };
        Ok(())
    }
}

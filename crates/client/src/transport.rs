//! Command transports: `ssh` and `ext` URIs run a local program whose stdin and stdout carry
//! the RPC byte stream, as libvirt's client does (`virNetSocketNewConnectCommand`).
//!
//! Who talks to whom:
//!
//! ```text
//! Connection reader/writer tasks <-> CommandStream (our end of a socketpair)
//!                                     <-> child stdin+stdout (the other end)
//! ssh:  ssh [-p port] [-l user] [-i keyfile] -T -e none [-o BatchMode=yes]
//!           [-o StrictHostKeyChecking=no] -- host "sh -c '<virt-ssh-helper or nc -U socket>'"
//!       -> sshd -> remote shell -> virt-ssh-helper / nc -> the remote daemon's UNIX socket
//! ext:  the `command=` program, run without arguments
//! child stderr -> a pipe, read when the stream fails so the error carries ssh's message
//! ```
//!
//! The child gets libvirt's environment: `LC_ALL=C` and only the variables libvirt passes
//! (`PATH`, `HOME`, `USER`, … and for ssh also `SSH_AUTH_SOCK`, `DISPLAY`, …). When the stream
//! is dropped (the connection closes or dies) the socket is closed and the child is reaped:
//! `SIGTERM`, 10 ms, then `SIGKILL` and a blocking wait, on a short-lived reaper thread, so no
//! zombie is left behind.
//!
//! The remote command is built exactly as libvirt 9.0 builds it, including its double shell
//! escaping of the `nc` binary and of the helper URI:
//!
//! ```
//! use oxvirt_client::transport::ssh_remote_command;
//! use oxvirt_client::uri::Proxy;
//! use std::path::Path;
//!
//! let cmd = ssh_remote_command(Proxy::Netcat, None, Some(Path::new("/tmp/s")), "", false);
//! assert_eq!(
//!     cmd,
//!     "sh -c 'if 'nc' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then \
//!      ARG=-q0;else ARG=;fi;'nc' $ARG -U /tmp/s'"
//! );
//! let cmd = ssh_remote_command(Proxy::Native, None, None, "qemu:///system", true);
//! assert_eq!(cmd, "sh -c 'virt-ssh-helper -r 'qemu:///system''");
//! ```

use crate::error::ClientError;
use crate::sockets::Endpoint;
use crate::uri::{Proxy, Transport};
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::Pid;
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Variables every spawned command inherits (libvirt's `virCommandAddEnvPassCommon`), besides
/// `LC_ALL=C`.
pub const COMMON_ENV: &[&str] = &[
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_FORCE_FLAT_NAMESPACE",
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "TMPDIR",
];

/// Variables the ssh binary also inherits (agent, Kerberos, askpass, X11).
pub const SSH_ENV: &[&str] = &[
    "XDG_RUNTIME_DIR",
    "KRB5CCNAME",
    "SSH_AUTH_SOCK",
    "SSH_ASKPASS",
    "GPG_TTY",
    "TERM",
    "OPENSSL_CONF",
    "DISPLAY",
    "XAUTHORITY",
];

/// How much of the child's stderr is reported (libvirt reads up to 1024 bytes).
pub const STDERR_LIMIT: usize = 1024;

/// Errors of the command transports.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// `socketpair(2)` or `pipe2(2)` failed.
    #[error("unable to create socket pair: {0}")]
    SocketPair(#[source] io::Error),
    /// The program could not be started.
    #[error("cannot execute binary {program}: {reason}")]
    Spawn {
        /// The program.
        program: String,
        /// `strerror` text.
        reason: String,
    },
    /// A transport this client does not implement.
    #[error("Operation not supported: {0}")]
    Unsupported(String),
    /// Not a command endpoint.
    #[error("internal error: not a command transport endpoint")]
    NotCommand,
}

impl From<TransportError> for ClientError {
    /// The one place transport errors become libvirt errors.
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::SocketPair(ref io) => ClientError::Libvirt(VirError::with_detail(
                ErrorCode::SystemError,
                ErrorDomain::Rpc,
                "unable to create socket pair",
                strerror(io),
            )),
            TransportError::Spawn { program, reason } => {
                ClientError::Libvirt(VirError::with_detail(
                    ErrorCode::SystemError,
                    ErrorDomain::None,
                    &format!("cannot execute binary {program}"),
                    reason,
                ))
            }
            TransportError::Unsupported(what) => ClientError::NotSupported(VirError::with_detail(
                ErrorCode::OperationUnsupported,
                ErrorDomain::Remote,
                "Operation not supported",
                what,
            )),
            TransportError::NotCommand => ClientError::Libvirt(VirError::internal(
                ErrorDomain::Remote,
                "not a command transport endpoint",
            )),
        }
    }
}

/// The C library's text for an I/O error (`strerror`), without Rust's "(os error N)".
fn strerror(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_owned(),
        None => e.to_string(),
    }
}

/// Quotes `s` for `/bin/sh` as libvirt's `virBufferEscapeShell`: unchanged when it has no
/// shell metacharacter, else wrapped in `'…'` with each `'` written `'\''`; `''` when empty.
///
/// ```
/// use oxvirt_client::transport::shell_escape;
/// assert_eq!(shell_escape("nc"), "nc");
/// assert_eq!(shell_escape("n c"), "'n c'");
/// assert_eq!(shell_escape("n'c"), r"'n'\''c'");
/// assert_eq!(shell_escape(""), "''");
/// ```
pub fn shell_escape(s: &str) -> String {
    const META: &str = "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~";
    if s.is_empty() {
        return "''".into();
    }
    if !s.chars().any(|c| META.contains(c)) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\'");
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Escaped once for the remote login shell and once for the `sh -c` inside it.
fn double_escape(s: &str) -> String {
    shell_escape(&shell_escape(s))
}

/// The command ssh runs remotely (one argument; ssh hands it to the remote login shell):
/// `virt-ssh-helper [-r] '<uri>'` for the native proxy, the `nc -U <socket>` probe for netcat,
/// and "helper if installed, else nc" for auto (auto with `netcat` given becomes netcat).
pub fn ssh_remote_command(
    proxy: Proxy,
    netcat: Option<&str>,
    socket: Option<&Path>,
    helper_uri: &str,
    read_only: bool,
) -> String {
    let nc = double_escape(netcat.unwrap_or("nc"));
    let socket = socket.map(|p| p.display().to_string()).unwrap_or_default();
    let nccmd = format!(
        "if '{nc}' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then \
         ARG=-q0;else ARG=;fi;'{nc}' $ARG -U {socket}"
    );
    let helper = format!(
        "virt-ssh-helper{}'{}'",
        if read_only { " -r " } else { " " },
        double_escape(helper_uri)
    );
    let proxy = match proxy {
        Proxy::Auto if netcat.is_some() => Proxy::Netcat,
        p => p,
    };
    match proxy {
        Proxy::Auto => format!(
            "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     {helper}; \
             else    {nccmd}; fi'"
        ),
        Proxy::Netcat => format!("sh -c '{nccmd}'"),
        Proxy::Native => format!("sh -c '{helper}'"),
    }
}

/// The full argv (program first) for an ssh endpoint, in libvirt 9.0's order:
/// `[-p port] [-l user] [-i keyfile] -T -e none [-o BatchMode=yes]
/// [-o StrictHostKeyChecking=no] -- host <remote command>`.
///
/// ```
/// use oxvirt_client::{conf::ClientConf, sockets, transport::ssh_argv, uri::RemoteUri, Env};
/// let env = Env::default();
/// let conf = ClientConf::default();
/// let ctx = sockets::Context::new(0, &env, &conf);
/// let uri = RemoteUri::parse("qemu+ssh://fred@h:9000/system?socket=/s&no_tty=1").unwrap();
/// let plan = sockets::plan(Some(&uri), false, &ctx).unwrap();
/// let argv = ssh_argv(&plan.endpoint).unwrap();
/// assert_eq!(
///     argv[..12],
///     ["ssh", "-p", "9000", "-l", "fred", "-T", "-e", "none", "-o", "BatchMode=yes", "--", "h"]
/// );
/// assert!(argv[12].ends_with("$ARG -U /s'"));
/// ```
pub fn ssh_argv(endpoint: &Endpoint) -> Option<Vec<String>> {
    let Endpoint::Ssh {
        host,
        port,
        user,
        proxy,
        netcat_socket,
        helper_uri,
        binary,
        keyfile,
        netcat,
        no_tty,
        no_verify,
        read_only,
        ..
    } = endpoint
    else {
        return None;
    };
    let mut argv = vec![binary.clone()];
    if let Some(p) = port {
        argv.extend(["-p".into(), p.to_string()]);
    }
    if let Some(u) = user {
        argv.extend(["-l".into(), u.clone()]);
    }
    if let Some(k) = keyfile {
        argv.extend(["-i".into(), k.clone()]);
    }
    argv.extend(["-T", "-e", "none"].map(String::from));
    if *no_tty {
        argv.extend(["-o", "BatchMode=yes"].map(String::from));
    }
    if *no_verify {
        argv.extend(["-o", "StrictHostKeyChecking=no"].map(String::from));
    }
    argv.extend(["--".into(), host.clone()]);
    argv.push(ssh_remote_command(
        *proxy,
        netcat.as_deref(),
        netcat_socket.as_deref(),
        helper_uri,
        *read_only,
    ));
    Some(argv)
}

/// The argv and environment pass-list for a command endpoint (`ssh` or `ext`).
fn command_for(endpoint: &Endpoint) -> Result<(Vec<String>, bool), TransportError> {
    match endpoint {
        Endpoint::Ssh {
            transport: Transport::Ssh,
            ..
        } => Ok((ssh_argv(endpoint).ok_or(TransportError::NotCommand)?, true)),
        Endpoint::Ssh { transport, .. } => Err(TransportError::Unsupported(format!(
            "the {transport} transport is not implemented by this client (use ssh)"
        ))),
        Endpoint::Ext { command } => Ok((vec![command.clone()], false)),
        Endpoint::Tls { .. } => Err(unsupported_tls()),
        _ => Err(TransportError::NotCommand),
    }
}

fn unsupported_tls() -> TransportError {
    TransportError::Unsupported(
        "the tls transport needs the TLS handshake, which this client does not implement yet"
            .into(),
    )
}

/// The error a `tls` endpoint fails with until the TLS handshake is implemented:
/// "Operation not supported: the tls transport needs the TLS handshake, …" (code 84).
pub fn tls_unsupported() -> ClientError {
    unsupported_tls().into()
}

/// Spawns the command of an `ssh` or `ext` endpoint with a socketpair as its stdin and stdout
/// and returns our end (the plan carries the read-only flag for `virt-ssh-helper -r`).
/// `tls`, `libssh` and `libssh2` endpoints fail with "Operation not supported: …" (code 84).
pub fn connect(endpoint: &Endpoint) -> Result<CommandStream, ClientError> {
    let (argv, ssh) = command_for(endpoint)?;
    Ok(CommandStream::spawn(&argv, ssh)?)
}

/// Our end of the socketpair to a transport command, plus the child and its stderr.
pub struct CommandStream {
    sock: Option<tokio::net::UnixStream>,
    stderr: Option<std::fs::File>,
    /// What was read from stderr at the first failure (`Some("")`: the pipe was empty and
    /// closed, as libvirt reports it).
    errout: Option<String>,
    stderr_read: bool,
    child: Option<Child>,
}

impl std::fmt::Debug for CommandStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandStream")
            .field("pid", &self.pid())
            .finish()
    }
}

impl CommandStream {
    /// Spawns `argv` (program first) with libvirt's environment policy (`ssh` adds the ssh
    /// pass-list) and connects its stdin and stdout to a socketpair.
    pub fn spawn(argv: &[String], ssh: bool) -> Result<CommandStream, TransportError> {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| TransportError::SocketPair(e.into()))?;
        let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| TransportError::SocketPair(e.into()))?;
        let theirs_out: OwnedFd = theirs.try_clone().map_err(TransportError::SocketPair)?;
        let program = argv.first().cloned().unwrap_or_default();
        let mut cmd = Command::new(&program);
        cmd.args(&argv[1.min(argv.len())..])
            .env_clear()
            .env("LC_ALL", "C")
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::from(theirs_out))
            .stderr(Stdio::from(err_w));
        let passes = COMMON_ENV
            .iter()
            .chain(if ssh { SSH_ENV } else { &[] }.iter());
        for name in passes {
            if let Some(v) = std::env::var_os(name) {
                cmd.env(name, v);
            }
        }
        let child = cmd.spawn().map_err(|e| TransportError::Spawn {
            program: program.clone(),
            reason: strerror(&e),
        })?;
        // Our copies of the child's ends close here: the child holds the only ones, so its
        // exit is our EOF.
        drop(cmd);
        tracing::debug!(pid = child.id(), %program, "transport command started");
        let sock = std::os::unix::net::UnixStream::from(ours);
        let spawned = (|| -> io::Result<(tokio::net::UnixStream, std::fs::File)> {
            sock.set_nonblocking(true)?;
            let sock = tokio::net::UnixStream::from_std(sock)?;
            let stderr = std::fs::File::from(err_r);
            nix::fcntl::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&stderr),
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            )?;
            Ok((sock, stderr))
        })();
        let mut stream = CommandStream {
            sock: None,
            stderr: None,
            errout: None,
            stderr_read: false,
            child: Some(child),
        };
        let (sock, stderr) = spawned.map_err(TransportError::SocketPair)?;
        stream.sock = Some(sock);
        stream.stderr = Some(stderr);
        Ok(stream)
    }

    /// The child's process id (while it has not been reaped).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Reads what the child wrote to stderr (once, non-blocking, at most [`STDERR_LIMIT`]
    /// bytes, trailing whitespace removed), as libvirt does when a read fails.
    fn errout(&mut self) -> Option<&str> {
        if !self.stderr_read {
            self.stderr_read = true;
            if let Some(f) = self.stderr.as_mut() {
                let mut buf = Vec::new();
                let mut chunk = [0u8; STDERR_LIMIT];
                let ok = loop {
                    match f.read(&mut chunk[..STDERR_LIMIT - buf.len()]) {
                        Ok(0) => break true,
                        Ok(n) => {
                            buf.extend_from_slice(&chunk[..n]);
                            if buf.len() >= STDERR_LIMIT {
                                break true;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        // Still open and empty: nothing to report (libvirt's NULL errout).
                        Err(_) => break !buf.is_empty(),
                    }
                };
                if ok {
                    let text = String::from_utf8_lossy(&buf);
                    self.errout = Some(text.trim_end().to_owned());
                }
            }
        }
        self.errout.as_deref()
    }

    /// A failed read or write as libvirt words it: `"<stderr>: <strerror>"`, or
    /// `"<strerror>"` when there was nothing to read.
    fn failure(&mut self, e: io::Error) -> io::Error {
        let text = strerror(&e);
        let kind = e.kind();
        match self.errout() {
            Some(out) => io::Error::new(kind, format!("{out}: {text}")),
            None => io::Error::new(kind, text),
        }
    }

    fn sock(&mut self) -> Pin<&mut tokio::net::UnixStream> {
        Pin::new(self.sock.as_mut().expect("socket present until drop"))
    }
}

impl AsyncRead for CommandStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match this.sock().poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before && buf.remaining() > 0 => {
                // EOF: the child exited or closed its stdout. A silent EOF stays an EOF
                // ("End of file while reading data"); when the child said why on stderr, the
                // text is reported, as libvirt does ("End of file while reading data: <stderr>:
                // Input/output error"): the connection turns this error into
                // `Disconnect::EofWith`.
                match this.errout().filter(|s| !s.is_empty()) {
                    Some(out) => {
                        tracing::warn!(stderr = out, "transport command closed the connection");
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("{out}: Input/output error"),
                        )))
                    }
                    None => Poll::Ready(Ok(())),
                }
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(this.failure(e))),
            other => other,
        }
    }
}

impl AsyncWrite for CommandStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.sock().poll_write(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(this.failure(e))),
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().sock().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().sock().poll_shutdown(cx)
    }
}

impl Drop for CommandStream {
    fn drop(&mut self) {
        // Close our end first: the child sees EOF on its stdin.
        drop(self.sock.take());
        drop(self.stderr.take());
        let Some(child) = self.child.take() else {
            return;
        };
        // libvirt's virProcessAbort: reaped if gone, else SIGTERM, 10 ms, SIGKILL, wait.
        // On a thread of its own so that neither a runtime worker nor a caller blocks.
        let reap = move || abort_child(child);
        if std::thread::Builder::new()
            .name("oxvirt-reap".into())
            .spawn(reap)
            .is_err()
        {
            tracing::warn!("could not start the reaper thread; transport child may linger");
        }
    }
}

fn abort_child(mut child: Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let pid = Pid::from_raw(child.id() as i32);
    let _ = kill(pid, Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(10));
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = kill(pid, Signal::SIGKILL);
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_libvirt() {
        // virBufferEscapeShell applied twice, as for the nc binary and the helper URI.
        assert_eq!(double_escape("nc"), "nc");
        assert_eq!(double_escape("n c"), r"''\''n c'\'''");
        assert_eq!(double_escape(""), r"''\'''\'''");
        assert_eq!(double_escape("n\"c"), r#"''\''n"c'\'''"#);
    }

    #[test]
    fn tls_error_reads_like_libvirt() {
        let e = tls_unsupported();
        assert_eq!(e.code(), 84);
        assert!(e
            .to_string()
            .starts_with("Operation not supported: the tls transport"));
    }
}

//! The interface between the RPC layer and a program (REMOTE, ADMIN, virtlogd's, ...).

use crate::client::Client;
use oxvirt_proto::Header;
use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::Arc;

/// What a call produces.
#[derive(Debug)]
pub enum Reply {
    /// A reply frame to send.
    Frame(Vec<u8>),
    /// A REPLY_WITH_FDS frame and the fds to pass after it.
    FrameWithFds(Vec<u8>, Vec<OwnedFd>),
    /// A reply frame, after which the connection is closed (CONNECT_CLOSE).
    CloseAfter(Vec<u8>),
    /// Nothing to send.
    None,
}

/// A reply computed later (the call waits for a driver, a timer, another process).
pub type ReplyFuture = Pin<Box<dyn Future<Output = Reply> + Send + 'static>>;

/// A program's answer to dispatch: now (handled inline by the reader: no task, no copy) or
/// later (the call is spawned and counts against the client's in-flight limit).
pub enum Dispatched {
    Now(Reply),
    Later(ReplyFuture),
}

/// An RPC program served by a [`crate::Server`].
pub trait Program: Send + Sync + 'static {
    /// Program number.
    fn number(&self) -> u32;
    /// Program version.
    fn version(&self) -> u32;
    /// Answer one CALL. `body` is the payload after the header (and after the nfds word).
    fn dispatch(
        &self,
        client: &Arc<Client>,
        header: &Header,
        body: &[u8],
        fds: Vec<OwnedFd>,
    ) -> Dispatched;
    /// The client is gone; release what it held.
    fn client_closed(&self, _client: &Client) {}
    /// The client's per-program state to carry across an exec-restart (libvirt's client
    /// `privateData`), if this program keeps any.
    fn save_client(&self, _client: &Client) -> Option<serde_json::Value> {
        None
    }
    /// Restore what [`Program::save_client`] saved, before the client's next call.
    fn restore_client(&self, _client: &Client, _saved: &serde_json::Value) {}
}

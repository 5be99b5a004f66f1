//! libvirt's RPC server on tokio.
//!
//! Layering, bottom up (who talks to whom):
//! - [`transport`]: a connected UNIX or TCP socket; reads bytes and passed fds into a buffer,
//!   writes frames and fds.
//! - [`frame`]: cuts validated frames out of that buffer (length word checked before a body is
//!   read) and builds reply, error and event frames.
//! - [`client`]: one connection, served by one task: framing, keepalive, in-flight limit,
//!   dispatch, and the writes (the replies of one read in one `send`; a bounded queue for what
//!   the socket does not take at once, events and replies computed later).
//! - [`program`]: the trait a program (REMOTE, ADMIN, ...) implements to answer calls.
//! - [`server`]: programs + limits + the client registry; [`service`]: listeners feeding a server.
//!
//! Programs never see sockets: they get a [`client::Client`] handle (identity, read-only flag,
//! a way to push event frames, per-program state) and a decoded [`frame::Call`].

pub mod client;
pub mod frame;
pub mod keepalive;
pub mod program;
pub mod server;
pub mod service;
pub mod transport;

pub use client::{Client, ClientIdentity, DetachedClient};
pub use frame::Call;
pub use program::{Program, Reply};
pub use server::{AdoptedClient, Server, ServerLimits};
pub use service::{Listener, Service, ServiceHandle};

//! The wire types of libvirt's RPC programs: our own description of the protocol.
//!
//! No I/O and no tokio: the RPC layer (`oxvirt-rpc`) frames and dispatches, the daemon's
//! programs decode arguments into these types and encode replies from them. Procedure numbers,
//! field order and limits are facts of libvirt's wire format; the descriptions are ours.

pub mod admin;
pub mod error;
pub mod header;
pub mod keepalive;
pub mod remote;
pub mod typed_param;

pub use error::RemoteError;
pub use header::{Header, MsgStatus, MsgType};

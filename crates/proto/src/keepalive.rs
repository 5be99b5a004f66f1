//! The keepalive program: PING and PONG as empty MESSAGEs with serial 0.

/// Program number ("keep").
pub const PROGRAM: u32 = 0x6b65_6570;
/// Program version.
pub const VERSION: u32 = 1;
/// PING procedure.
pub const PROC_PING: i32 = 1;
/// PONG procedure.
pub const PROC_PONG: i32 = 2;

//! Server-side keepalive policy: when to PING a silent client and when to give up on it.
//!
//! Pure and clock-free so it can be unit tested: the connection task asks for the next deadline and
//! reports what happened. Only clients that asked (CONNECT_SUPPORTS_FEATURE 10) are pinged.

use std::time::{Duration, Instant};

/// `keepalive_interval` / `keepalive_count` from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// Seconds of silence before a PING; <= 0 disables PINGs.
    pub interval: i32,
    /// Unanswered PINGs before the connection is closed.
    pub count: u32,
}

/// What to do when the deadline passes.
#[derive(Debug, PartialEq, Eq)]
pub enum KeepaliveAction {
    Ping,
    Close,
}

/// Per-connection keepalive state.
#[derive(Debug)]
pub struct Keepalive {
    cfg: KeepaliveConfig,
    last_rx: Instant,
    pings: u32,
}

impl Keepalive {
    /// Start counting from `now`.
    pub fn new(cfg: KeepaliveConfig, now: Instant) -> Self {
        Keepalive {
            cfg,
            last_rx: now,
            pings: 0,
        }
    }

    /// Any message from the peer resets the countdown.
    pub fn received(&mut self, now: Instant) {
        self.last_rx = now;
        self.pings = 0;
    }

    /// The next deadline, or None when PINGs are disabled.
    pub fn deadline(&self) -> Option<Instant> {
        if self.cfg.interval <= 0 {
            return None;
        }
        let step = Duration::from_secs(self.cfg.interval as u64);
        Some(self.last_rx + step * (self.pings + 1))
    }

    /// The deadline passed: PING again, or close after `count` unanswered PINGs.
    pub fn expired(&mut self) -> KeepaliveAction {
        if self.pings >= self.cfg.count {
            KeepaliveAction::Close
        } else {
            self.pings += 1;
            KeepaliveAction::Ping
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_then_closes_after_interval_times_count_plus_one() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(
            KeepaliveConfig {
                interval: 5,
                count: 5,
            },
            t0,
        );
        let mut at = vec![];
        loop {
            let d = k.deadline().unwrap();
            let secs = (d - t0).as_secs();
            if k.expired() == KeepaliveAction::Close {
                at.push(("close", secs));
                break;
            }
            at.push(("ping", secs));
        }
        assert_eq!(at.len(), 6);
        assert_eq!(at[0], ("ping", 5));
        assert_eq!(at[5], ("close", 30));
    }

    #[test]
    fn count_zero_closes_after_one_interval_and_disabled_never_fires() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(
            KeepaliveConfig {
                interval: 2,
                count: 0,
            },
            t0,
        );
        assert_eq!(k.deadline(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(k.expired(), KeepaliveAction::Close);
        let k = Keepalive::new(
            KeepaliveConfig {
                interval: -1,
                count: 5,
            },
            t0,
        );
        assert_eq!(k.deadline(), None);
    }

    #[test]
    fn traffic_resets() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(
            KeepaliveConfig {
                interval: 5,
                count: 1,
            },
            t0,
        );
        assert_eq!(k.expired(), KeepaliveAction::Ping);
        k.received(t0 + Duration::from_secs(7));
        assert_eq!(k.deadline(), Some(t0 + Duration::from_secs(12)));
    }
}

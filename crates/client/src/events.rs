//! Event delivery: decoded event MESSAGEs routed to per-registration channels.

use crate::connection::{Connection, OnOk};
use crate::error::ClientError;
use oxvirt_proto::remote::{self, procs, Domain};
use std::collections::HashMap;
use tokio::sync::mpsc;

/// A domain lifecycle event type (`virDomainEventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleKind {
    Defined,
    Undefined,
    Started,
    Suspended,
    Resumed,
    Stopped,
    Shutdown,
    PmSuspended,
    Crashed,
    /// A value this client does not name.
    Other(i32),
}

impl LifecycleKind {
    /// From the wire value.
    pub fn from_i32(v: i32) -> Self {
        match v {
            0 => Self::Defined,
            1 => Self::Undefined,
            2 => Self::Started,
            3 => Self::Suspended,
            4 => Self::Resumed,
            5 => Self::Stopped,
            6 => Self::Shutdown,
            7 => Self::PmSuspended,
            8 => Self::Crashed,
            v => Self::Other(v),
        }
    }
}

/// One `VIR_DOMAIN_EVENT_ID_LIFECYCLE` event.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleEvent {
    /// The domain it is about.
    pub domain: Domain,
    /// What happened.
    pub kind: LifecycleKind,
    /// The event's raw type number.
    pub event: i32,
    /// The type-specific detail number (e.g. STOPPED/DESTROYED = 1).
    pub detail: i32,
}

/// Channels by server-chosen callback id.
#[derive(Default)]
pub(crate) struct EventRoutes {
    pub(crate) lifecycle: HashMap<i32, mpsc::Sender<LifecycleEvent>>,
}

impl EventRoutes {
    pub(crate) fn clear(&mut self) {
        self.lifecycle.clear();
    }

    /// Routes one event MESSAGE of the REMOTE program. Unknown procedures are logged and
    /// ignored, as the C client does.
    pub(crate) fn dispatch(&mut self, proc_: i32, payload: &[u8]) {
        match proc_ {
            procs::DOMAIN_EVENT_CALLBACK_LIFECYCLE => {
                let m: remote::DomainCallbackLifecycleMsg = match oxvirt_xdr::from_bytes(payload) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(%e, "undecodable lifecycle event");
                        return;
                    }
                };
                let Some(tx) = self.lifecycle.get(&m.callback_id) else {
                    return;
                };
                let ev = LifecycleEvent {
                    domain: m.msg.dom,
                    kind: LifecycleKind::from_i32(m.msg.event),
                    event: m.msg.event,
                    detail: m.msg.detail,
                };
                match tx.try_send(ev) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!("lifecycle event receiver full: event dropped");
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        self.lifecycle.remove(&m.callback_id);
                    }
                }
            }
            other => tracing::debug!(proc_ = other, "No event expected with procedure"),
        }
    }
}

/// Capacity of each event channel; events beyond it are dropped with a warning.
pub const EVENT_QUEUE: usize = 1024;

impl Connection {
    /// Registers for lifecycle events of all domains (`CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY`
    /// with event id 0) and returns the channel they arrive on. The channel closes when the
    /// connection dies.
    pub async fn domain_lifecycle_events(
        &self,
    ) -> Result<mpsc::Receiver<LifecycleEvent>, ClientError> {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let weak = self.weak();
        let on_ok: OnOk = Box::new(move |body: &[u8]| {
            if let Ok(r) = oxvirt_xdr::from_bytes::<remote::CallbackIdRet>(body) {
                Connection::add_lifecycle_route(&weak, r.callback_id, tx);
            }
        });
        let args = remote::DomainEventCallbackRegisterAnyArgs {
            event_id: 0,
            dom: None,
        };
        let body = self
            .call_raw(
                remote::PROGRAM,
                remote::VERSION,
                procs::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
                &args,
                Some(on_ok),
            )
            .await?;
        oxvirt_xdr::from_bytes::<remote::CallbackIdRet>(&body)?;
        Ok(rx)
    }
}

//! Routing: decoded event MESSAGEs to the local subscribers of each server callback, and
//! the background deregistration of callbacks nobody listens to any more.

use super::*;

// ------------------------------------------------------------------ routing

/// A decoded event of any family.
#[derive(Debug, Clone)]
pub(super) enum Event {
    Domain(DomainEvent),
    Network(NetworkEvent),
    Pool(StoragePoolEvent),
    NodeDevice(NodeDeviceEvent),
    Secret(SecretEvent),
}

/// Where one local subscriber wants its events.
pub(super) enum Sink {
    Domain(mpsc::Sender<DomainEvent>),
    Lifecycle(mpsc::Sender<LifecycleEvent>),
    Network(mpsc::Sender<NetworkEvent>),
    Pool(mpsc::Sender<StoragePoolEvent>),
    NodeDevice(mpsc::Sender<NodeDeviceEvent>),
    Secret(mpsc::Sender<SecretEvent>),
}

/// Sends a copy of `ev`; `false` when the receiver is gone.
pub(super) fn offer<T>(tx: &mpsc::Sender<T>, ev: T) -> bool {
    match tx.try_send(ev) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!("event receiver full: event dropped");
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

impl Sink {
    pub(super) fn offer(&self, ev: &Event) -> bool {
        match (self, ev) {
            (Sink::Domain(tx), Event::Domain(e)) => offer(tx, e.clone()),
            (Sink::Lifecycle(tx), Event::Domain(DomainEvent::Lifecycle(l))) => offer(tx, l.clone()),
            (Sink::Network(tx), Event::Network(e)) => offer(tx, e.clone()),
            (Sink::Pool(tx), Event::Pool(e)) => offer(tx, e.clone()),
            (Sink::NodeDevice(tx), Event::NodeDevice(e)) => offer(tx, e.clone()),
            (Sink::Secret(tx), Event::Secret(e)) => offer(tx, e.clone()),
            _ => true,
        }
    }
}

/// What a server registration is for. libvirtd refuses a second registration with the same
/// event id and object filter on one connection ("event callback already tracked"), so, as the
/// C client does, one server callback serves every local subscriber with the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct RouteKey {
    pub(super) family: EventFamily,
    pub(super) event_id: i32,
    /// The object filter: UUID bytes (node devices: the name).
    pub(super) filter: Option<Vec<u8>>,
}

/// One server callback and its local subscribers.
pub(super) struct Route {
    pub(super) key: RouteKey,
    pub(super) subs: Vec<(u64, Sink)>,
}

/// Server callbacks by (family, server-chosen callback id), with their local subscribers.
#[derive(Default)]
pub(crate) struct EventRoutes {
    pub(super) routes: HashMap<(EventFamily, i32), Route>,
    pub(super) by_key: HashMap<RouteKey, i32>,
    pub(super) next_sub: u64,
    /// The connection, to deregister callbacks whose last receiver is gone.
    pub(super) conn: Option<Weak<Inner>>,
    /// Serialises registration and deregistration round trips of this connection, so that a
    /// key is never registered twice nor joined while its deregistration is in flight.
    pub(super) lock: Arc<tokio::sync::Mutex<()>>,
}

pub(super) fn decode<T: Xdr>(payload: &[u8]) -> Option<T> {
    match oxvirt_xdr::from_bytes(payload) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(%e, "undecodable event");
            None
        }
    }
}

impl EventRoutes {
    pub(crate) fn clear(&mut self) {
        self.routes.clear();
        self.by_key.clear();
    }

    /// No receiver is left on this server callback.
    pub(super) fn unused(&self, family: EventFamily, id: i32) -> bool {
        self.routes
            .get(&(family, id))
            .map_or(true, |r| r.subs.is_empty())
    }

    pub(super) fn remove_sub(&mut self, family: EventFamily, id: i32, sub: u64) {
        if let Some(r) = self.routes.get_mut(&(family, id)) {
            r.subs.retain(|(s, _)| *s != sub);
        }
    }

    pub(super) fn drop_route(&mut self, family: EventFamily, id: i32) {
        if let Some(r) = self.routes.remove(&(family, id)) {
            self.by_key.remove(&r.key);
        }
    }

    /// Delivers one decoded event to every subscriber of its callback, in arrival order.
    pub(super) fn deliver(&mut self, family: EventFamily, id: i32, ev: Event) {
        let mut closed = false;
        if let Some(route) = self.routes.get_mut(&(family, id)) {
            let before = route.subs.len();
            route.subs.retain(|(_, s)| s.offer(&ev));
            closed |= route.subs.len() != before;
        }
        if closed && self.unused(family, id) {
            // The receivers were dropped: deregister the callback on the server.
            if let Some(inner) = self.conn.as_ref().and_then(Weak::upgrade) {
                spawn_release(Connection { inner }, family, id);
            }
        }
    }

    /// Routes one event MESSAGE of the REMOTE program. Unknown procedures are logged and
    /// ignored, as the C client does.
    pub(crate) fn dispatch(&mut self, proc_: i32, payload: &[u8]) {
        use EventFamily as F;
        let decoded: Option<(F, i32, Event)> = match proc_ {
            procs::DOMAIN_EVENT_CALLBACK_LIFECYCLE => decode::<wire::Lifecycle>(payload).map(|m| {
                let ev = DomainEvent::Lifecycle(LifecycleEvent {
                    domain: m.dom,
                    kind: LifecycleKind::from_i32(m.event),
                    event: m.event,
                    detail: m.detail,
                });
                (F::Domain, m.callback_id, Event::Domain(ev))
            }),
            procs::NETWORK_EVENT_LIFECYCLE => decode::<wire::NetLifecycle>(payload).map(|m| {
                let ev = NetworkEvent::Lifecycle {
                    network: m.net,
                    kind: NetworkLifecycleKind::from_i32(m.event),
                    event: m.event,
                    detail: m.detail,
                };
                (F::Network, m.callback_id, Event::Network(ev))
            }),
            procs::STORAGE_POOL_EVENT_LIFECYCLE => {
                decode::<wire::PoolLifecycle>(payload).map(|m| {
                    let ev = StoragePoolEvent::Lifecycle {
                        pool: m.pool,
                        kind: StoragePoolLifecycleKind::from_i32(m.event),
                        event: m.event,
                        detail: m.detail,
                    };
                    (F::StoragePool, m.callback_id, Event::Pool(ev))
                })
            }
            procs::STORAGE_POOL_EVENT_REFRESH => decode::<wire::PoolRefresh>(payload).map(|m| {
                let ev = StoragePoolEvent::Refresh { pool: m.pool };
                (F::StoragePool, m.callback_id, Event::Pool(ev))
            }),
            procs::NODE_DEVICE_EVENT_LIFECYCLE => decode::<wire::DevLifecycle>(payload).map(|m| {
                let ev = NodeDeviceEvent::Lifecycle {
                    device: m.dev,
                    kind: NodeDeviceLifecycleKind::from_i32(m.event),
                    event: m.event,
                    detail: m.detail,
                };
                (F::NodeDevice, m.callback_id, Event::NodeDevice(ev))
            }),
            procs::NODE_DEVICE_EVENT_UPDATE => decode::<wire::DevUpdate>(payload).map(|m| {
                let ev = NodeDeviceEvent::Update { device: m.dev };
                (F::NodeDevice, m.callback_id, Event::NodeDevice(ev))
            }),
            procs::SECRET_EVENT_LIFECYCLE => decode::<wire::SecretLifecycle>(payload).map(|m| {
                let ev = SecretEvent::Lifecycle {
                    secret: m.secret,
                    kind: SecretLifecycleKind::from_i32(m.event),
                    event: m.event,
                    detail: m.detail,
                };
                (F::Secret, m.callback_id, Event::Secret(ev))
            }),
            procs::SECRET_EVENT_VALUE_CHANGED => decode::<wire::SecretValue>(payload).map(|m| {
                let ev = SecretEvent::ValueChanged { secret: m.secret };
                (F::Secret, m.callback_id, Event::Secret(ev))
            }),
            other => match decode_domain(other, payload) {
                Some(d) => d.map(|(id, ev)| (F::Domain, id, Event::Domain(ev))),
                None => {
                    tracing::debug!(proc_ = other, "No event expected with procedure");
                    None
                }
            },
        };
        if let Some((family, id, ev)) = decoded {
            self.deliver(family, id, ev);
        }
    }
}

/// Decodes the domain callback events other than lifecycle: `None` if `proc_` is not one,
/// `Some(None)` if its payload does not decode.
pub(super) fn decode_domain(proc_: i32, p: &[u8]) -> Option<Option<(i32, DomainEvent)>> {
    use DomainEvent as D;
    pub(super) fn dec<T: Xdr>(
        p: &[u8],
        f: impl FnOnce(T) -> (i32, DomainEvent),
    ) -> Option<(i32, DomainEvent)> {
        decode::<T>(p).map(f)
    }
    let pm = |p: &[u8], id: DomainEventId| {
        dec(p, |m: wire::Pm| {
            let (domain, reason) = (m.dom, m.reason);
            let ev = match id {
                DomainEventId::PmWakeup => D::PmWakeup { domain, reason },
                DomainEventId::PmSuspend => D::PmSuspend { domain, reason },
                _ => D::PmSuspendDisk { domain, reason },
            };
            (m.callback_id, ev)
        })
    };
    let block_job = |p: &[u8], id: DomainEventId| {
        dec(p, |m: wire::BlockJob| {
            let ev = D::BlockJob {
                domain: m.dom,
                id,
                disk: m.path,
                kind: m.kind,
                status: m.status,
            };
            (m.callback_id, ev)
        })
    };
    Some(match proc_ {
        procs::DOMAIN_EVENT_CALLBACK_REBOOT => dec(p, |m: wire::DomOnly| {
            (m.callback_id, D::Reboot { domain: m.dom })
        }),
        procs::DOMAIN_EVENT_CALLBACK_RTC_CHANGE => dec(p, |m: wire::RtcChange| {
            let ev = D::RtcChange {
                domain: m.dom,
                offset: m.offset,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_WATCHDOG => dec(p, |m: wire::Watchdog| {
            let ev = D::Watchdog {
                domain: m.dom,
                action: m.action,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_IO_ERROR => dec(p, |m: wire::IoError| {
            let ev = D::IoError {
                domain: m.dom,
                src_path: m.src_path,
                dev_alias: m.dev_alias,
                action: m.action,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON => dec(p, |m: wire::IoErrorReason| {
            let ev = D::IoErrorReason {
                domain: m.dom,
                src_path: m.src_path,
                dev_alias: m.dev_alias,
                action: m.action,
                reason: m.reason,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_GRAPHICS => dec(p, |m: wire::Graphics| {
            let addr = |a: wire::GraphicsAddress| GraphicsAddress {
                family: a.family,
                node: a.node,
                service: a.service,
            };
            let ev = D::Graphics {
                domain: m.dom,
                phase: m.phase,
                local: addr(m.local),
                remote: addr(m.remote),
                auth_scheme: m.auth_scheme,
                subject: m
                    .subject
                    .into_iter()
                    .map(|s| GraphicsIdentity {
                        kind: s.kind,
                        name: s.name,
                    })
                    .collect(),
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_CONTROL_ERROR => dec(p, |m: wire::DomOnly| {
            (m.callback_id, D::ControlError { domain: m.dom })
        }),
        procs::DOMAIN_EVENT_CALLBACK_BLOCK_JOB => block_job(p, DomainEventId::BlockJob),
        procs::DOMAIN_EVENT_BLOCK_JOB_2 => block_job(p, DomainEventId::BlockJob2),
        procs::DOMAIN_EVENT_CALLBACK_DISK_CHANGE => dec(p, |m: wire::DiskChange| {
            let ev = D::DiskChange {
                domain: m.dom,
                old_src_path: m.old_src_path,
                new_src_path: m.new_src_path,
                dev_alias: m.dev_alias,
                reason: m.reason,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_TRAY_CHANGE => dec(p, |m: wire::TrayChange| {
            let ev = D::TrayChange {
                domain: m.dom,
                dev_alias: m.dev_alias,
                reason: m.reason,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_PMWAKEUP => pm(p, DomainEventId::PmWakeup),
        procs::DOMAIN_EVENT_CALLBACK_PMSUSPEND => pm(p, DomainEventId::PmSuspend),
        procs::DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK => pm(p, DomainEventId::PmSuspendDisk),
        procs::DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE => dec(p, |m: wire::BalloonChange| {
            let ev = D::BalloonChange {
                domain: m.dom,
                actual: m.actual,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED => dec(p, |m: wire::DevAlias| {
            let ev = D::DeviceRemoved {
                domain: m.dom,
                dev_alias: m.dev_alias,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_DEVICE_ADDED => dec(p, |m: wire::DevAlias| {
            let ev = D::DeviceAdded {
                domain: m.dom,
                dev_alias: m.dev_alias,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED => dec(p, |m: wire::DevAlias| {
            let ev = D::DeviceRemovalFailed {
                domain: m.dom,
                dev_alias: m.dev_alias,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_TUNABLE => dec(p, |m: wire::Params| {
            let ev = D::Tunable {
                domain: m.dom,
                params: m.params,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_JOB_COMPLETED => dec(p, |m: wire::Params| {
            let ev = D::JobCompleted {
                domain: m.dom,
                params: m.params,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE => dec(p, |m: wire::AgentLifecycle| {
            let ev = D::AgentLifecycle {
                domain: m.dom,
                state: m.state,
                reason: m.reason,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION => {
            dec(p, |m: wire::MigrationIteration| {
                let ev = D::MigrationIteration {
                    domain: m.dom,
                    iteration: m.iteration,
                };
                (m.callback_id, ev)
            })
        }
        procs::DOMAIN_EVENT_CALLBACK_METADATA_CHANGE => dec(p, |m: wire::MetadataChange| {
            let ev = D::MetadataChange {
                domain: m.dom,
                kind: m.kind,
                nsuri: m.nsuri,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_BLOCK_THRESHOLD => dec(p, |m: wire::BlockThreshold| {
            let ev = D::BlockThreshold {
                domain: m.dom,
                dev: m.dev,
                path: m.path,
                threshold: m.threshold,
                excess: m.excess,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_MEMORY_FAILURE => dec(p, |m: wire::MemoryFailure| {
            let ev = D::MemoryFailure {
                domain: m.dom,
                recipient: m.recipient,
                action: m.action,
                flags: m.flags,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_MEMORY_DEVICE_SIZE_CHANGE => {
            dec(p, |m: wire::MemoryDeviceSizeChange| {
                let ev = D::MemoryDeviceSizeChange {
                    domain: m.dom,
                    alias: m.alias,
                    size: m.size,
                };
                (m.callback_id, ev)
            })
        }
        _ => return None,
    })
}

/// Drops the server callback `id` if no receiver uses it any more (in the background).
pub(super) fn spawn_release(conn: Connection, family: EventFamily, id: i32) {
    if !conn.is_alive() {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        tracing::debug!(callback_id = id, "no runtime: callback left registered");
        return;
    };
    rt.spawn(async move {
        if let Err(e) = release(&conn, family, id).await {
            tracing::debug!(%e, callback_id = id, "event callback deregistration failed");
        }
    });
}

/// Deregisters the server callback `id` (`*_DEREGISTER_ANY`) if no receiver uses it.
pub(super) async fn release(
    conn: &Connection,
    family: EventFamily,
    id: i32,
) -> Result<(), ClientError> {
    let lock = conn.inner.events.lock().unwrap().lock.clone();
    let _serial = lock.lock().await;
    {
        let mut routes = conn.inner.events.lock().unwrap();
        if !routes.unused(family, id) || !routes.routes.contains_key(&(family, id)) {
            return Ok(());
        }
        routes.drop_route(family, id);
    }
    let args = remote::CallbackIdArgs { callback_id: id };
    conn.call::<_, ()>(family.deregister_proc(), &args).await
}

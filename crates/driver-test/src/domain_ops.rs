//! Domain lifecycle operations of the test driver, with libvirt 9.0's checks, error texts and
//! lifecycle events (verified against the reference daemon; see tests/golden/).

use oxvirt_virerror::ErrorDomain;

use crate::domain::{reason, state, Domain};
use crate::domain_xml::{format_uuid, DomainDef};
use crate::error::{DriverError, DriverResult};
use crate::event::{domain_event as ev, DriverEvent};
use crate::node::check_flags;
use crate::refs::{DomainKey, DomainRef};
use crate::state::TestState;

/// Lifecycle event details (`virDomainEvent*DetailType`).
pub mod detail {
    pub const DEFINED_ADDED: i32 = 0;
    pub const DEFINED_UPDATED: i32 = 1;
    pub const UNDEFINED_REMOVED: i32 = 0;
    pub const STARTED_BOOTED: i32 = 0;
    pub const SUSPENDED_PAUSED: i32 = 0;
    pub const RESUMED_UNPAUSED: i32 = 0;
    pub const STOPPED_SHUTDOWN: i32 = 0;
    pub const STOPPED_DESTROYED: i32 = 1;
    pub const STOPPED_SAVED: i32 = 4;
}

/// `virDomainInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainInfo {
    pub state: i32,
    /// KiB
    pub max_mem: u64,
    /// KiB
    pub memory: u64,
    pub nr_virt_cpu: u32,
    /// ns; the test driver reports the current time of day.
    pub cpu_time: u64,
}

/// `VIR_DOMAIN_AFFECT_LIVE`.
pub const AFFECT_LIVE: u32 = 1;
/// `VIR_DOMAIN_AFFECT_CONFIG`.
pub const AFFECT_CONFIG: u32 = 2;
/// `VIR_DOMAIN_MEM_MAXIMUM` / `VIR_DOMAIN_VCPU_MAXIMUM`.
pub const MAXIMUM: u32 = 4;
/// `VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_MIGRATABLE`.
pub const XML_FLAGS_OK: u32 = 1 | 2 | 8;

fn not_running() -> DriverError {
    DriverError::OperationInvalid(ErrorDomain::Domain, "domain is not running".into())
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl TestState {
    fn emit(&self, dom: DomainRef, event: i32, detail: i32) {
        self.events
            .emit(DriverEvent::DomainLifecycle { dom, event, detail });
    }

    /// Check a new definition against existing domains (virDomainObjListAdd's rules); returns
    /// the UUID of the existing domain with the same name and UUID, if any.
    fn check_dup(&self, def: &DomainDef) -> DriverResult<Option<[u8; 16]>> {
        if let Some(old) = self.domains.by_uuid(&def.uuid) {
            if old.def.name != def.name {
                return Err(DriverError::OperationFailed(
                    ErrorDomain::Domain,
                    format!(
                        "domain '{}' is already defined with uuid {}",
                        old.def.name,
                        format_uuid(&def.uuid)
                    ),
                ));
            }
            return Ok(Some(def.uuid));
        }
        if let Some(old) = self.domains.by_name(&def.name) {
            return Err(DriverError::OperationFailed(
                ErrorDomain::Domain,
                format!(
                    "domain '{}' already exists with uuid {}",
                    def.name,
                    format_uuid(&old.def.uuid)
                ),
            ));
        }
        Ok(None)
    }

    /// Start a domain: new id, running with `why`, persistent config kept aside.
    fn start(&mut self, uuid: &[u8; 16], why: i32) -> DomainRef {
        let id = self.take_id();
        let d = self.domains.by_uuid_mut(uuid).expect("domain exists");
        d.id = id;
        d.state = state::RUNNING;
        d.reason = why;
        d.managed_save = false;
        if d.persistent && d.new_def.is_none() {
            d.new_def = Some(d.def.clone());
        }
        let r = d.to_ref();
        self.emit(r.clone(), ev::STARTED, detail::STARTED_BOOTED);
        r
    }

    /// Stop a domain with shutoff reason `why` and event detail `det`; transient ones vanish.
    fn stop(&mut self, uuid: &[u8; 16], why: i32, det: i32) {
        let d = self.domains.by_uuid_mut(uuid).expect("domain exists");
        d.id = -1;
        d.state = state::SHUTOFF;
        d.reason = why;
        if let Some(cfg) = d.new_def.take() {
            d.def = cfg;
        }
        let (r, persistent) = (d.to_ref(), d.persistent);
        if !persistent {
            self.domains.remove(uuid);
        }
        self.emit(r, ev::STOPPED, det);
    }

    /// `virDomainDefineXMLFlags` (flags: VALIDATE only). New domains are inactive; defining an
    /// existing one replaces its persistent config (event DEFINED UPDATED, or ADDED if it was
    /// transient).
    pub fn define_xml(&mut self, xml: &str, flags: u32) -> DriverResult<DomainRef> {
        check_flags(flags, 1, "testDomainDefineXMLFlags")?;
        let def = DomainDef::parse(xml)?;
        let uuid = def.uuid;
        let (r, det) = match self.check_dup(&def)? {
            Some(u) => {
                let d = self.domains.by_uuid_mut(&u).expect("exists");
                let det = if d.persistent {
                    detail::DEFINED_UPDATED
                } else {
                    detail::DEFINED_ADDED
                };
                if d.is_active() {
                    d.new_def = Some(def);
                } else {
                    d.def = def;
                }
                d.persistent = true;
                (d.to_ref(), det)
            }
            None => {
                self.domains.push(Domain::new_inactive(def, true));
                (self.domains.lookup_by_uuid(&uuid)?, detail::DEFINED_ADDED)
            }
        };
        self.emit(r.clone(), ev::DEFINED, det);
        Ok(r)
    }

    /// `virDomainCreateXML` (flags: VALIDATE only): a running transient domain, or an existing
    /// inactive one started with this definition.
    pub fn create_xml(&mut self, xml: &str, flags: u32) -> DriverResult<DomainRef> {
        check_flags(flags, 16, "testDomainCreateXML")?;
        let def = DomainDef::parse(xml)?;
        let uuid = def.uuid;
        match self.check_dup(&def)? {
            Some(u) => {
                let d = self.domains.by_uuid_mut(&u).expect("exists");
                if d.is_active() {
                    return Err(DriverError::OperationInvalid(
                        ErrorDomain::Domain,
                        format!("domain '{}' is already active", d.def.name),
                    ));
                }
                if d.persistent {
                    d.new_def = Some(std::mem::replace(&mut d.def, def));
                } else {
                    d.def = def;
                }
            }
            None => self.domains.push(Domain::new_inactive(def, false)),
        }
        Ok(self.start(&uuid, reason::RUNNING_BOOTED))
    }

    /// `virDomainCreateWithFlags` (flags must be 0); returns the domain with its new id.
    pub fn create(&mut self, r: DomainKey<'_>, flags: u32) -> DriverResult<DomainRef> {
        check_flags(flags, 0, "testDomainCreateWithFlags")?;
        let d = self.domains.get(r)?;
        if d.is_active() {
            return Err(DriverError::Internal(
                ErrorDomain::Test,
                format!("Domain '{}' is already running", d.def.name),
            ));
        }
        let uuid = d.def.uuid;
        Ok(self.start(&uuid, reason::RUNNING_BOOTED))
    }

    /// `virDomainDestroyFlags` (flags: GRACEFUL only).
    pub fn destroy(&mut self, r: DomainKey<'_>, flags: u32) -> DriverResult<()> {
        check_flags(flags, 1, "testDomainDestroyFlags")?;
        let d = self.domains.get(r)?;
        if !d.is_active() {
            return Err(not_running());
        }
        let uuid = d.def.uuid;
        self.stop(&uuid, reason::SHUTOFF_DESTROYED, detail::STOPPED_DESTROYED);
        Ok(())
    }

    /// `virDomainShutdownFlags` (flags must be 0): the test driver powers off at once.
    pub fn shutdown(&mut self, r: DomainKey<'_>, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "testDomainShutdownFlags")?;
        let d = self.domains.get(r)?;
        if d.state == state::SHUTOFF {
            return Err(DriverError::Internal(
                ErrorDomain::Test,
                format!("domain '{}' not running", d.def.name),
            ));
        }
        let uuid = d.def.uuid;
        self.stop(&uuid, reason::SHUTOFF_SHUTDOWN, detail::STOPPED_SHUTDOWN);
        Ok(())
    }

    /// `virDomainReboot` (any flags): follows `<on_reboot>`; "restart" keeps it running with no
    /// event, "destroy"/"preserve" power it off (STOPPED SHUTDOWN).
    pub fn reboot(&mut self, r: DomainKey<'_>, _flags: u32) -> DriverResult<()> {
        let d = self.domains.get_mut(r)?;
        if !d.is_active() {
            return Err(not_running());
        }
        match d.def.on_reboot.as_str() {
            "destroy" | "preserve" => {
                let uuid = d.def.uuid;
                self.stop(&uuid, reason::SHUTOFF_SHUTDOWN, detail::STOPPED_SHUTDOWN);
            }
            _ => {
                d.state = state::RUNNING;
                d.reason = reason::RUNNING_BOOTED;
            }
        }
        Ok(())
    }

    /// `virDomainReset` (flags must be 0): no visible effect on a running domain.
    pub fn reset(&mut self, r: DomainKey<'_>, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "testDomainReset")?;
        if !self.domains.get(r)?.is_active() {
            return Err(not_running());
        }
        Ok(())
    }

    /// `virDomainSuspend`.
    pub fn suspend(&mut self, r: DomainKey<'_>) -> DriverResult<()> {
        let d = self.domains.get_mut(r)?;
        if d.state != state::RUNNING {
            return Err(DriverError::Internal(
                ErrorDomain::Test,
                format!("domain '{}' not running", d.def.name),
            ));
        }
        d.state = state::PAUSED;
        d.reason = reason::PAUSED_USER;
        let r = d.to_ref();
        self.emit(r, ev::SUSPENDED, detail::SUSPENDED_PAUSED);
        Ok(())
    }

    /// `virDomainResume`.
    pub fn resume(&mut self, r: DomainKey<'_>) -> DriverResult<()> {
        let d = self.domains.get_mut(r)?;
        if d.state != state::PAUSED {
            return Err(DriverError::Internal(
                ErrorDomain::Test,
                format!("domain '{}' not paused", d.def.name),
            ));
        }
        d.state = state::RUNNING;
        d.reason = reason::RUNNING_UNPAUSED;
        let r = d.to_ref();
        self.emit(r, ev::RESUMED, detail::RESUMED_UNPAUSED);
        Ok(())
    }

    /// `virDomainUndefineFlags` (flags: MANAGED_SAVE, SNAPSHOTS_METADATA). A running domain
    /// becomes transient; an inactive one is removed.
    pub fn undefine(&mut self, r: DomainKey<'_>, flags: u32) -> DriverResult<()> {
        check_flags(flags, 1 | 2, "testDomainUndefineFlags")?;
        let d = self.domains.get_mut(r)?;
        if d.managed_save && flags & 1 == 0 {
            return Err(DriverError::OperationInvalid(
                ErrorDomain::Test,
                "Refusing to undefine while domain managed save image exists".into(),
            ));
        }
        d.managed_save = false;
        let r = d.to_ref();
        if d.is_active() {
            d.persistent = false;
        } else {
            self.domains.remove(&r.uuid);
        }
        self.emit(r, ev::UNDEFINED, detail::UNDEFINED_REMOVED);
        Ok(())
    }

    /// `virDomainManagedSave` (flags: BYPASS_CACHE, RUNNING, PAUSED).
    pub fn managed_save(&mut self, r: DomainKey<'_>, flags: u32) -> DriverResult<()> {
        check_flags(flags, 1 | 2 | 4, "testDomainManagedSave")?;
        let d = self.domains.get_mut(r)?;
        if !d.is_active() {
            return Err(not_running());
        }
        if !d.persistent {
            return Err(DriverError::OperationInvalid(
                ErrorDomain::Test,
                "cannot do managed save for transient domain".into(),
            ));
        }
        d.managed_save = true;
        let uuid = d.def.uuid;
        self.stop(&uuid, reason::SHUTOFF_SAVED, detail::STOPPED_SAVED);
        Ok(())
    }

    /// `virDomainHasManagedSaveImage` (flags must be 0).
    pub fn has_managed_save_image(&self, r: DomainKey<'_>, flags: u32) -> DriverResult<bool> {
        check_flags(flags, 0, "testDomainHasManagedSaveImage")?;
        Ok(self.domains.get(r)?.managed_save)
    }

    /// `virDomainManagedSaveRemove` (flags must be 0).
    pub fn managed_save_remove(&mut self, r: DomainKey<'_>, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "testDomainManagedSaveRemove")?;
        self.domains.get_mut(r)?.managed_save = false;
        Ok(())
    }

    /// `virDomainGetAutostart`.
    pub fn get_autostart(&self, r: DomainKey<'_>) -> DriverResult<bool> {
        Ok(self.domains.get(r)?.autostart)
    }

    /// `virDomainSetAutostart` (accepted for transient domains too, as libvirt's test driver).
    pub fn set_autostart(&mut self, r: DomainKey<'_>, on: bool) -> DriverResult<()> {
        self.domains.get_mut(r)?.autostart = on;
        Ok(())
    }

    /// `virDomainGetInfo`.
    pub fn get_info(&self, r: DomainKey<'_>) -> DriverResult<DomainInfo> {
        let d = self.domains.get(r)?;
        Ok(DomainInfo {
            state: d.state,
            max_mem: d.def.max_mem_kib,
            memory: d.def.cur_mem_kib,
            nr_virt_cpu: d.def.vcpus_cur,
            cpu_time: now_ns(),
        })
    }

    /// `virDomainGetState` (flags must be 0): (state, reason).
    pub fn get_state(&self, r: DomainKey<'_>, flags: u32) -> DriverResult<(i32, i32)> {
        check_flags(flags, 0, "testDomainGetState")?;
        let d = self.domains.get(r)?;
        Ok((d.state, d.reason))
    }

    /// `virDomainGetXMLDesc` (flags: SECURE, INACTIVE, MIGRATABLE).
    pub fn get_xml_desc(&self, r: DomainKey<'_>, flags: u32) -> DriverResult<String> {
        check_flags(flags, XML_FLAGS_OK, "testDomainGetXMLDesc")?;
        let d = self.domains.get(r)?;
        let inactive = flags & 2 != 0;
        // VIR_DOMAIN_XML_SECURE: include secrets such as graphics passwords.
        let secure = flags & 1 != 0;
        Ok(match (&d.new_def, inactive) {
            (Some(cfg), true) => cfg.format_with(None, secure),
            _ => d
                .def
                .format_with((d.is_active() && !inactive).then_some(d.id), secure),
        })
    }

    /// `virDomainGetOSType`: the test driver answers "linux".
    pub fn get_os_type(&self, r: DomainKey<'_>) -> DriverResult<String> {
        self.domains.get(r)?;
        Ok("linux".into())
    }

    /// `virDomainGetMaxMemory` (KiB).
    pub fn get_max_memory(&self, r: DomainKey<'_>) -> DriverResult<u64> {
        Ok(self.domains.get(r)?.def.max_mem_kib)
    }

    /// `virDomainIsActive`.
    pub fn is_active(&self, r: DomainKey<'_>) -> DriverResult<bool> {
        Ok(self.domains.get(r)?.is_active())
    }

    /// `virDomainIsPersistent`.
    pub fn is_persistent(&self, r: DomainKey<'_>) -> DriverResult<bool> {
        Ok(self.domains.get(r)?.persistent)
    }

    /// `virDomainIsUpdated`: always false in the test driver.
    pub fn is_updated(&self, r: DomainKey<'_>) -> DriverResult<bool> {
        self.domains.get(r)?;
        Ok(false)
    }

    /// `virDomainSnapshotNum`: 0.
    pub fn snapshot_num(&self, r: DomainKey<'_>, _flags: u32) -> DriverResult<i32> {
        self.domains.get(r)?;
        Ok(0)
    }

    /// `virDomainGetMessages`: none.
    pub fn get_messages(&self, r: DomainKey<'_>, _flags: u32) -> DriverResult<Vec<String>> {
        self.domains.get(r)?;
        Ok(Vec::new())
    }

    /// `virDomainGetSecurityLabel`: ("libvirt-test", enforcing) while active, ("", false) else.
    pub fn security_label(&self, r: DomainKey<'_>) -> DriverResult<(String, bool)> {
        let d = self.domains.get(r)?;
        Ok(if d.is_active() {
            ("libvirt-test".into(), true)
        } else {
            (String::new(), false)
        })
    }

    /// `virDomainGetHostname`: "testhost" while active.
    pub fn domain_hostname(&self, r: DomainKey<'_>, _flags: u32) -> DriverResult<String> {
        if !self.domains.get(r)?.is_active() {
            return Err(not_running());
        }
        Ok("testhost".into())
    }

    /// `virDomainGetControlInfo`: (state, details, stateTime) = (0, 0, 0).
    pub fn control_info(&self, r: DomainKey<'_>, _flags: u32) -> DriverResult<(u32, u32, u64)> {
        self.domains.get(r)?;
        Ok((0, 0, 0))
    }
}

#[cfg(test)]
#[path = "domain_ops_tests.rs"]
mod tests;

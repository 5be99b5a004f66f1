//! Domain objects and the list that holds them (libvirt's `virDomainObj` / `virDomainObjList`).

use crate::domain_xml::{format_uuid, DomainDef};
use crate::error::{DriverError, DriverResult};
use crate::refs::{DomainKey, DomainRef};

/// `virDomainState` values.
pub mod state {
    pub const NOSTATE: i32 = 0;
    pub const RUNNING: i32 = 1;
    pub const BLOCKED: i32 = 2;
    pub const PAUSED: i32 = 3;
    pub const SHUTDOWN: i32 = 4;
    pub const SHUTOFF: i32 = 5;
    pub const CRASHED: i32 = 6;
    pub const PMSUSPENDED: i32 = 7;
}

/// State reasons used by the test driver (`virDomain*Reason`).
pub mod reason {
    pub const RUNNING_UNKNOWN: i32 = 0;
    pub const RUNNING_BOOTED: i32 = 1;
    pub const RUNNING_UNPAUSED: i32 = 5;
    pub const PAUSED_USER: i32 = 1;
    pub const SHUTOFF_UNKNOWN: i32 = 0;
    pub const SHUTOFF_SHUTDOWN: i32 = 1;
    pub const SHUTOFF_DESTROYED: i32 = 2;
    pub const SHUTOFF_SAVED: i32 = 5;
}

/// `virConnectListAllDomainsFlags`.
pub mod list_flags {
    pub const ACTIVE: u32 = 1;
    pub const INACTIVE: u32 = 2;
    pub const PERSISTENT: u32 = 4;
    pub const TRANSIENT: u32 = 8;
    pub const RUNNING: u32 = 16;
    pub const PAUSED: u32 = 32;
    pub const SHUTOFF: u32 = 64;
    pub const OTHER: u32 = 128;
    pub const MANAGEDSAVE: u32 = 256;
    pub const NO_MANAGEDSAVE: u32 = 512;
    pub const AUTOSTART: u32 = 1024;
    pub const NO_AUTOSTART: u32 = 2048;
    pub const HAS_SNAPSHOT: u32 = 4096;
    pub const NO_SNAPSHOT: u32 = 8192;
    pub const HAS_CHECKPOINT: u32 = 16384;
    pub const NO_CHECKPOINT: u32 = 32768;
    /// Every flag the test driver accepts.
    pub const ALL: u32 = 0xffff;
}

/// One domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// The live definition while running, else the (only) definition.
    pub def: DomainDef,
    /// The persistent configuration while a persistent domain runs (libvirt's `newDef`).
    pub new_def: Option<DomainDef>,
    /// Id while active, -1 otherwise.
    pub id: i32,
    /// `virDomainState`.
    pub state: i32,
    /// State reason.
    pub reason: i32,
    pub persistent: bool,
    pub autostart: bool,
    /// A managed-save image exists.
    pub managed_save: bool,
}

impl Domain {
    /// A new inactive domain.
    pub fn new_inactive(def: DomainDef, persistent: bool) -> Domain {
        Domain {
            def,
            new_def: None,
            id: -1,
            state: state::SHUTOFF,
            reason: reason::SHUTOFF_UNKNOWN,
            persistent,
            autostart: false,
            managed_save: false,
        }
    }

    /// Whether the domain is running or paused.
    pub fn is_active(&self) -> bool {
        self.id != -1
    }

    /// The reference clients use for this domain.
    pub fn to_ref(&self) -> DomainRef {
        DomainRef {
            name: self.def.name.clone(),
            uuid: self.def.uuid,
            id: self.id,
        }
    }

    /// The persistent configuration (`newDef` while running, else `def`).
    pub fn config(&self) -> &DomainDef {
        self.new_def.as_ref().unwrap_or(&self.def)
    }

    /// Whether it passes `virConnectListAllDomains` filter `flags`.
    pub fn matches(&self, flags: u32) -> bool {
        use list_flags as f;
        let group = |yes: u32, no: u32, v: bool| crate::objlist::pair_match(flags, yes, no, v);
        if !group(f::ACTIVE, f::INACTIVE, self.is_active())
            || !group(f::PERSISTENT, f::TRANSIENT, self.persistent)
            || !group(f::MANAGEDSAVE, f::NO_MANAGEDSAVE, self.managed_save)
            || !group(f::AUTOSTART, f::NO_AUTOSTART, self.autostart)
            || !group(f::HAS_SNAPSHOT, f::NO_SNAPSHOT, false)
            || !group(f::HAS_CHECKPOINT, f::NO_CHECKPOINT, false)
        {
            return false;
        }
        let states = flags & (f::RUNNING | f::PAUSED | f::SHUTOFF | f::OTHER);
        if states != 0 {
            let bit = match self.state {
                state::RUNNING => f::RUNNING,
                state::PAUSED => f::PAUSED,
                state::SHUTOFF => f::SHUTOFF,
                _ => f::OTHER,
            };
            return states & bit != 0;
        }
        true
    }
}

/// All domains of one driver state, in creation order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainList {
    doms: Vec<Domain>,
}

impl DomainList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every domain, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &Domain> {
        self.doms.iter()
    }

    /// Number of domains.
    pub fn len(&self) -> usize {
        self.doms.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.doms.is_empty()
    }

    /// Add a domain (the caller checked for duplicates).
    pub fn push(&mut self, d: Domain) {
        self.doms.push(d);
    }

    /// Remove the domain with this UUID.
    pub fn remove(&mut self, uuid: &[u8; 16]) -> Option<Domain> {
        let i = self.doms.iter().position(|d| &d.def.uuid == uuid)?;
        Some(self.doms.remove(i))
    }

    /// Find by name.
    pub fn by_name(&self, name: &str) -> Option<&Domain> {
        self.doms.iter().find(|d| d.def.name == name)
    }

    /// Find by UUID.
    pub fn by_uuid(&self, uuid: &[u8; 16]) -> Option<&Domain> {
        self.doms.iter().find(|d| &d.def.uuid == uuid)
    }

    /// Find by UUID, mutably.
    pub fn by_uuid_mut(&mut self, uuid: &[u8; 16]) -> Option<&mut Domain> {
        self.doms.iter_mut().find(|d| &d.def.uuid == uuid)
    }

    /// Find a running domain by id.
    pub fn by_id(&self, id: i32) -> Option<&Domain> {
        self.doms.iter().find(|d| d.id == id && id != -1)
    }

    /// `virDomainLookupByName`: the error is libvirt's bare "Domain not found".
    pub fn lookup_by_name(&self, name: &str) -> DriverResult<DomainRef> {
        self.by_name(name)
            .map(Domain::to_ref)
            .ok_or(DriverError::NoDomain(None))
    }

    /// `virDomainLookupByUUID`.
    pub fn lookup_by_uuid(&self, uuid: &[u8; 16]) -> DriverResult<DomainRef> {
        self.by_uuid(uuid)
            .map(Domain::to_ref)
            .ok_or(DriverError::NoDomain(None))
    }

    /// `virDomainLookupByID`.
    pub fn lookup_by_id(&self, id: i32) -> DriverResult<DomainRef> {
        self.by_id(id)
            .map(Domain::to_ref)
            .ok_or(DriverError::NoDomain(None))
    }

    /// The domain a client reference names (by UUID, as the test driver resolves it), or
    /// libvirt's "no domain with matching uuid 'U' (name)" error.
    pub fn get(&self, r: DomainKey<'_>) -> DriverResult<&Domain> {
        self.by_uuid(&r.uuid).ok_or_else(|| stale(r))
    }

    /// Mutable [`DomainList::get`].
    pub fn get_mut(&mut self, r: DomainKey<'_>) -> DriverResult<&mut Domain> {
        self.doms
            .iter_mut()
            .find(|d| d.def.uuid == r.uuid)
            .ok_or_else(|| stale(r))
    }

    /// `virConnectListAllDomains`: matching domains (flags above 0xffff are refused).
    pub fn list_all(&self, flags: u32) -> DriverResult<Vec<DomainRef>> {
        if flags & !list_flags::ALL != 0 {
            return Err(DriverError::UnsupportedFlags(
                flags & !list_flags::ALL,
                "testConnectListAllDomains".into(),
            ));
        }
        Ok(self
            .doms
            .iter()
            .filter(|d| d.matches(flags))
            .map(Domain::to_ref)
            .collect())
    }

    /// `virConnectNumOfDomains`: running domains.
    pub fn num_of_domains(&self) -> usize {
        self.doms.iter().filter(|d| d.is_active()).count()
    }

    /// `virConnectListDomains`: ids of running domains, at most `max`.
    pub fn list_domain_ids(&self, max: usize) -> Vec<i32> {
        self.doms
            .iter()
            .filter(|d| d.is_active())
            .map(|d| d.id)
            .take(max)
            .collect()
    }

    /// `virConnectNumOfDefinedDomains`: inactive domains.
    pub fn num_of_defined(&self) -> usize {
        self.doms.iter().filter(|d| !d.is_active()).count()
    }

    /// `virConnectListDefinedDomains`: names of inactive domains, at most `max`.
    pub fn list_defined(&self, max: usize) -> Vec<String> {
        self.doms
            .iter()
            .filter(|d| !d.is_active())
            .map(|d| d.def.name.clone())
            .take(max)
            .collect()
    }
}

fn stale(r: DomainKey<'_>) -> DriverError {
    DriverError::NoDomain(Some(format!(
        "no domain with matching uuid '{}' ({})",
        format_uuid(&r.uuid),
        r.name
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain_xml::DEFAULT_DOMAIN_XML;

    fn list() -> DomainList {
        let mut l = DomainList::new();
        let mut t = Domain::new_inactive(DomainDef::parse(DEFAULT_DOMAIN_XML).unwrap(), true);
        t.id = 1;
        t.state = state::RUNNING;
        l.push(t);
        let x = "<domain type='test'><name>off</name><memory>1</memory><os><type>hvm</type></os></domain>";
        l.push(Domain::new_inactive(DomainDef::parse(x).unwrap(), true));
        l
    }

    #[test]
    fn lookups() {
        let l = list();
        assert_eq!(l.lookup_by_name("test").unwrap().id, 1);
        assert_eq!(l.lookup_by_id(1).unwrap().name, "test");
        assert_eq!(l.lookup_by_id(-1), Err(DriverError::NoDomain(None)));
        assert_eq!(
            l.lookup_by_name("nosuch").unwrap_err().to_vir().message,
            "Domain not found"
        );
        let u = l.by_name("off").unwrap().def.uuid;
        assert_eq!(l.lookup_by_uuid(&u).unwrap().name, "off");
        let gone = DomainRef {
            name: "zeta".into(),
            uuid: [0x66; 16],
            id: -1,
        };
        assert_eq!(
            l.get(gone.key()).unwrap_err().to_vir().message,
            "Domain not found: no domain with matching uuid '66666666-6666-6666-6666-666666666666' (zeta)"
        );
    }

    #[test]
    fn listing_and_filters() {
        let l = list();
        let names = |f| {
            l.list_all(f)
                .unwrap()
                .into_iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(0), ["test", "off"]);
        assert_eq!(names(3), ["test", "off"]);
        assert_eq!(names(1), ["test"]);
        assert_eq!(names(2), ["off"]);
        assert_eq!(names(8), Vec::<String>::new());
        assert_eq!(names(64), ["off"]);
        assert_eq!(names(16 | 64), ["test", "off"]);
        assert_eq!(names(512 | 2048 | 8192 | 32768), ["test", "off"]);
        assert!(names(256 | 1024 | 4096 | 16384 | 32 | 128).is_empty());
        assert_eq!(
            l.list_all(0x10000).unwrap_err().to_vir().message,
            "unsupported flags (0x10000) in function testConnectListAllDomains"
        );
        assert_eq!((l.num_of_domains(), l.num_of_defined()), (1, 1));
        assert_eq!(l.list_domain_ids(10), [1]);
        assert_eq!(l.list_defined(0), Vec::<String>::new());
        assert_eq!(l.list_defined(10), ["off"]);
    }
}

//! Storage pools and volumes of the test driver: libvirt's `default-pool` (a 100 GiB dir pool),
//! pools from a `<node>` file, and the pool/volume life cycle with its events.
//!
//! Every pool gets capacity 100 GiB, allocation = sum of its volumes' allocations, available =
//! capacity - allocation, whatever its XML says. Objects are resolved by name, as libvirt's test
//! driver does; volume operations need an active pool.

pub mod defs;

use std::path::Path;

use oxvirt_virerror::ErrorDomain;

pub use defs::{PoolDef, Volume};

use crate::error::{DriverError, DriverResult};
use crate::event::{pool_event, DriverEvent, EventSink};
use crate::network::xmlutil::{self, check_flags, fmt_uuid, pair_match};
use crate::refs::{PoolRef, VolRef};

/// `virConnectListAllStoragePoolsFlags` (type filters start at DIR = 1 << 6).
pub mod list_flags {
    pub const INACTIVE: u32 = 1;
    pub const ACTIVE: u32 = 2;
    pub const PERSISTENT: u32 = 4;
    pub const TRANSIENT: u32 = 8;
    pub const AUTOSTART: u32 = 16;
    pub const NO_AUTOSTART: u32 = 32;
    pub const DIR: u32 = 64;
}

/// Capacity of every test-driver pool: 100 GiB.
pub const POOL_CAPACITY: u64 = 100 << 30;

/// `virStoragePoolState`: INACTIVE.
pub const POOL_INACTIVE: i32 = 0;
/// `virStoragePoolState`: RUNNING.
pub const POOL_RUNNING: i32 = 2;

/// libvirt's default pool of `test:///default`.
pub const DEFAULT_POOL_XML: &str = "<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
";

/// Pool information as `virStoragePoolGetInfo` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolInfo {
    /// 0 inactive, 2 running.
    pub state: i32,
    /// Bytes.
    pub capacity: u64,
    /// Bytes.
    pub allocation: u64,
    /// Bytes.
    pub available: u64,
}

#[derive(Debug, Clone)]
struct PoolObj {
    def: PoolDef,
    active: bool,
    persistent: bool,
    autostart: bool,
    volumes: Vec<Volume>,
}

impl PoolObj {
    fn new(def: PoolDef, active: bool, persistent: bool) -> Self {
        PoolObj {
            def,
            active,
            persistent,
            autostart: false,
            volumes: vec![],
        }
    }
    fn allocation(&self) -> u64 {
        self.volumes.iter().map(|v| v.allocation).sum()
    }
    fn available(&self) -> u64 {
        POOL_CAPACITY.saturating_sub(self.allocation())
    }
    fn to_ref(&self) -> PoolRef {
        PoolRef {
            name: self.def.name.clone(),
            uuid: self.def.uuid,
        }
    }
    fn path(&self) -> String {
        self.def.target_path.clone().unwrap_or_default()
    }
    fn vol_ref(&self, v: &Volume) -> VolRef {
        VolRef {
            pool: self.def.name.clone(),
            name: v.name.clone(),
            key: v.key.clone(),
        }
    }
    fn check_active(&self) -> DriverResult<()> {
        if self.active {
            Ok(())
        } else {
            Err(invalid(format!(
                "storage pool '{}' is not active",
                self.def.name
            )))
        }
    }
    fn vol(&self, name: &str) -> DriverResult<&Volume> {
        self.check_active()?;
        self.volumes
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| vol_not_found("name", name))
    }
}

fn invalid(detail: String) -> DriverError {
    DriverError::OperationInvalid(ErrorDomain::Test, detail)
}

fn vol_not_found(what: &str, v: &str) -> DriverError {
    DriverError::NoStorageVol(format!("no storage vol with matching {what} '{v}'"))
}

/// All storage pools (with their volumes) of one test connection state.
#[derive(Debug, Clone, Default)]
pub struct PoolList {
    pools: Vec<PoolObj>,
}

impl PoolList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// `test:///default`'s pools: `default-pool`, active, persistent, no volumes.
    pub fn defaults() -> Self {
        let def = PoolDef::parse(DEFAULT_POOL_XML).expect("built-in pool XML");
        PoolList {
            pools: vec![PoolObj::new(def, true, true)],
        }
    }

    /// The `<pool>` children of a test `<node>` element (inline or `file='...'`), each active
    /// and persistent, with their `<volume>` children (inline or `file='...'`).
    pub fn from_node(node: &roxmltree::Node, base_dir: &Path) -> DriverResult<Self> {
        let mut list = PoolList::new();
        for n in node
            .children()
            .filter(|c| c.is_element() && c.has_tag_name("pool"))
        {
            let ext = xmlutil::external_or_inline(&n, base_dir, "pool")?;
            let doc;
            let pn = match &ext {
                Some(t) => {
                    doc =
                        xmlutil::parse(t, "storage_pool_definition", ErrorDomain::Storage as i32)?;
                    doc.root_element()
                }
                None => n,
            };
            let def = defs::pool_from_node(&pn)?;
            list.check_dup(&def)?;
            let mut obj = PoolObj::new(def, true, true);
            for vn in pn
                .children()
                .filter(|c| c.is_element() && c.has_tag_name("volume"))
            {
                let vol = match xmlutil::external_or_inline(&vn, base_dir, "volume")? {
                    Some(t) => Volume::parse(&t, &obj.path())?,
                    None => Volume::from_root(&vn, &obj.path())?,
                };
                obj.volumes.push(vol);
            }
            list.pools.push(obj);
        }
        Ok(list)
    }

    fn find(&self, name: &str) -> DriverResult<&PoolObj> {
        self.pools
            .iter()
            .find(|p| p.def.name == name)
            .ok_or_else(|| pool_not_found_name(name))
    }

    fn find_mut(&mut self, name: &str) -> DriverResult<&mut PoolObj> {
        self.pools
            .iter_mut()
            .find(|p| p.def.name == name)
            .ok_or_else(|| pool_not_found_name(name))
    }

    /// Look a pool up by name.
    pub fn lookup_by_name(&self, name: &str) -> DriverResult<PoolRef> {
        Ok(self.find(name)?.to_ref())
    }

    /// Look a pool up by UUID.
    pub fn lookup_by_uuid(&self, uuid: &[u8; 16]) -> DriverResult<PoolRef> {
        self.pools
            .iter()
            .find(|p| &p.def.uuid == uuid)
            .map(PoolObj::to_ref)
            .ok_or_else(|| {
                DriverError::NoStoragePool(format!(
                    "no storage pool with matching uuid '{}'",
                    fmt_uuid(uuid)
                ))
            })
    }

    /// The pool holding a volume.
    pub fn lookup_by_volume(&self, vol: &VolRef) -> DriverResult<PoolRef> {
        self.lookup_by_name(&vol.pool)
    }

    /// `virConnectListAllStoragePools` with libvirt's filter flags.
    pub fn list_all(&self, flags: u32) -> DriverResult<Vec<PoolRef>> {
        use list_flags::*;
        check_flags(flags, 0xfffff, "testConnectListAllStoragePools")?;
        let type_bits = flags >> 6;
        Ok(self
            .pools
            .iter()
            .filter(|p| {
                let t = defs::POOL_TYPES
                    .iter()
                    .position(|t| *t == p.def.pool_type)
                    .unwrap_or(31);
                pair_match(flags, ACTIVE, INACTIVE, p.active)
                    && pair_match(flags, PERSISTENT, TRANSIENT, p.persistent)
                    && pair_match(flags, AUTOSTART, NO_AUTOSTART, p.autostart)
                    && (type_bits == 0 || type_bits & (1 << t) != 0)
            })
            .map(PoolObj::to_ref)
            .collect())
    }

    /// Number of active pools.
    pub fn num_of_active(&self) -> usize {
        self.pools.iter().filter(|p| p.active).count()
    }

    /// Names of active pools, at most `max`.
    pub fn list_active(&self, max: usize) -> Vec<String> {
        crate::objlist::names(self.pools.iter(), max, |x| x.active, |x| &x.def.name)
    }

    /// Number of inactive pools.
    pub fn num_of_defined(&self) -> usize {
        self.pools.iter().filter(|p| !p.active).count()
    }

    /// Names of inactive pools, at most `max`.
    pub fn list_defined(&self, max: usize) -> Vec<String> {
        crate::objlist::names(self.pools.iter(), max, |x| !x.active, |x| &x.def.name)
    }

    fn check_dup(&self, def: &PoolDef) -> DriverResult<Option<usize>> {
        let failed = |m: String| DriverError::OperationFailed(ErrorDomain::Storage, m);
        if let Some(i) = self.pools.iter().position(|p| p.def.uuid == def.uuid) {
            let o = &self.pools[i].def;
            if o.name != def.name {
                return Err(failed(format!(
                    "pool '{}' is already defined with uuid {}",
                    o.name,
                    fmt_uuid(&o.uuid)
                )));
            }
            return Ok(Some(i));
        }
        if let Some(o) = self.pools.iter().find(|p| p.def.name == def.name) {
            return Err(failed(format!(
                "pool '{}' already exists with uuid {}",
                o.def.name,
                fmt_uuid(&o.def.uuid)
            )));
        }
        if def.pool_type == "dir" {
            if let Some(o) = self
                .pools
                .iter()
                .find(|p| p.def.pool_type == "dir" && p.def.target_path == def.target_path)
            {
                return Err(failed(format!(
                    "Storage source conflict with pool: '{}'",
                    o.def.name
                )));
            }
        }
        Ok(None)
    }

    fn emit(events: &EventSink, pool: PoolRef, event: i32) {
        events.emit(DriverEvent::PoolLifecycle {
            pool,
            event,
            detail: 0,
        });
    }

    /// Define (or redefine) a persistent pool; raises DEFINED. Flags: VALIDATE (1) accepted.
    pub fn define_xml(
        &mut self,
        xml: &str,
        flags: u32,
        events: &EventSink,
    ) -> DriverResult<PoolRef> {
        check_flags(flags, 1, "testStoragePoolDefineXML")?;
        let def = PoolDef::parse(xml)?;
        let r = PoolRef {
            name: def.name.clone(),
            uuid: def.uuid,
        };
        match self.check_dup(&def)? {
            Some(i) => {
                self.pools[i].def = def;
                self.pools[i].persistent = true;
            }
            None => self.pools.push(PoolObj::new(def, false, true)),
        }
        Self::emit(events, r.clone(), pool_event::DEFINED);
        Ok(r)
    }

    /// Create and start a transient pool; raises STARTED.
    pub fn create_xml(
        &mut self,
        xml: &str,
        flags: u32,
        events: &EventSink,
    ) -> DriverResult<PoolRef> {
        check_flags(flags, 0, "testStoragePoolCreateXML")?;
        let def = PoolDef::parse(xml)?;
        let r = PoolRef {
            name: def.name.clone(),
            uuid: def.uuid,
        };
        match self.check_dup(&def)? {
            Some(i) if self.pools[i].active => {
                return Err(invalid(format!(
                    "storage pool '{}' is already active",
                    def.name
                )));
            }
            Some(i) => {
                self.pools[i].def = def;
                self.pools[i].active = true;
            }
            None => self.pools.push(PoolObj::new(def, true, false)),
        }
        Self::emit(events, r.clone(), pool_event::STARTED);
        Ok(r)
    }

    fn find_inactive_mut(&mut self, name: &str) -> DriverResult<&mut PoolObj> {
        let p = self.find_mut(name)?;
        if p.active {
            return Err(invalid(format!("storage pool '{name}' is active")));
        }
        Ok(p)
    }

    /// Start an inactive pool (its volumes are kept); raises STARTED.
    pub fn create(&mut self, name: &str, flags: u32, events: &EventSink) -> DriverResult<()> {
        check_flags(flags, 0, "testStoragePoolCreate")?;
        let p = self.find_inactive_mut(name)?;
        p.active = true;
        let r = p.to_ref();
        Self::emit(events, r, pool_event::STARTED);
        Ok(())
    }

    /// Build an inactive pool (nothing to do in memory); raises CREATED.
    pub fn build(&mut self, name: &str, flags: u32, events: &EventSink) -> DriverResult<()> {
        check_flags(flags, 0, "testStoragePoolBuild")?;
        let r = self.find_inactive_mut(name)?.to_ref();
        Self::emit(events, r, pool_event::CREATED);
        Ok(())
    }

    /// Delete an inactive pool's storage (nothing in memory); raises DELETED.
    pub fn delete(&mut self, name: &str, flags: u32, events: &EventSink) -> DriverResult<()> {
        check_flags(flags, 0, "testStoragePoolDelete")?;
        let r = self.find_inactive_mut(name)?.to_ref();
        Self::emit(events, r, pool_event::DELETED);
        Ok(())
    }

    /// Stop an active pool; a transient one vanishes. Raises STOPPED.
    pub fn destroy(&mut self, name: &str, events: &EventSink) -> DriverResult<()> {
        let p = self.find_mut(name)?;
        p.check_active()?;
        p.active = false;
        let (r, persistent) = (p.to_ref(), p.persistent);
        if !persistent {
            self.pools.retain(|p| p.def.name != name);
        }
        Self::emit(events, r, pool_event::STOPPED);
        Ok(())
    }

    /// Remove an inactive pool; raises UNDEFINED.
    pub fn undefine(&mut self, name: &str, events: &EventSink) -> DriverResult<()> {
        let r = self.find_inactive_mut(name)?.to_ref();
        self.pools.retain(|p| p.def.name != name);
        Self::emit(events, r, pool_event::UNDEFINED);
        Ok(())
    }

    /// Refresh an active pool; raises the refresh event.
    pub fn refresh(&mut self, name: &str, flags: u32, events: &EventSink) -> DriverResult<()> {
        check_flags(flags, 0, "testStoragePoolRefresh")?;
        let p = self.find(name)?;
        p.check_active()?;
        events.emit(DriverEvent::PoolRefresh { pool: p.to_ref() });
        Ok(())
    }

    /// State and figures of a pool.
    pub fn get_info(&self, name: &str) -> DriverResult<PoolInfo> {
        let p = self.find(name)?;
        Ok(PoolInfo {
            state: if p.active {
                POOL_RUNNING
            } else {
                POOL_INACTIVE
            },
            capacity: POOL_CAPACITY,
            allocation: p.allocation(),
            available: p.available(),
        })
    }

    /// The pool's XML (no flags supported by the test driver).
    pub fn get_xml_desc(&self, name: &str, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "testStoragePoolGetXMLDesc")?;
        let p = self.find(name)?;
        Ok(p.def.to_xml(POOL_CAPACITY, p.allocation(), p.available()))
    }

    /// Autostart flag.
    pub fn get_autostart(&self, name: &str) -> DriverResult<bool> {
        Ok(self.find(name)?.autostart)
    }

    /// Set the autostart flag; refused for a transient pool.
    pub fn set_autostart(&mut self, name: &str, autostart: bool) -> DriverResult<()> {
        let p = self.find_mut(name)?;
        if !p.persistent {
            return Err(DriverError::InvalidArg(
                ErrorDomain::Test,
                "pool has no config file".into(),
            ));
        }
        p.autostart = autostart;
        Ok(())
    }

    /// Whether the pool is running.
    pub fn is_active(&self, name: &str) -> DriverResult<bool> {
        Ok(self.find(name)?.active)
    }

    /// Whether the pool is persistent.
    pub fn is_persistent(&self, name: &str) -> DriverResult<bool> {
        Ok(self.find(name)?.persistent)
    }
}

fn pool_not_found_name(name: &str) -> DriverError {
    DriverError::NoStoragePool(format!("no storage pool with matching name '{name}'"))
}

mod volumes;
pub use volumes::{find_pool_sources, VolInfo};

#[cfg(test)]
mod tests;

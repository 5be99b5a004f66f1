//! Volume operations of [`PoolList`] and storage-pool source discovery.

use oxvirt_virerror::ErrorDomain;

use super::{invalid, vol_not_found, PoolList, Volume};
use crate::error::{DriverError, DriverResult};
use crate::network::xmlutil::{check_flags, raw};
use crate::refs::VolRef;

/// Volume information as `virStorageVolGetInfo` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolInfo {
    /// `virStorageVolType` (0 file).
    pub vol_type: i32,
    /// Bytes.
    pub capacity: u64,
    /// Bytes.
    pub allocation: u64,
}

impl PoolList {
    /// Number of volumes of an active pool.
    pub fn num_of_volumes(&self, pool: &str) -> DriverResult<usize> {
        let p = self.find(pool)?;
        p.check_active()?;
        Ok(p.volumes.len())
    }

    /// Names of the volumes of an active pool, at most `max`.
    pub fn list_volumes(&self, pool: &str, max: usize) -> DriverResult<Vec<String>> {
        let p = self.find(pool)?;
        p.check_active()?;
        Ok(p.volumes.iter().take(max).map(|v| v.name.clone()).collect())
    }

    /// `virStoragePoolListAllVolumes` (no flags).
    pub fn list_all_volumes(&self, pool: &str, flags: u32) -> DriverResult<Vec<VolRef>> {
        check_flags(flags, 0, "testStoragePoolListAllVolumes")?;
        let p = self.find(pool)?;
        if !p.active {
            return Err(invalid("storage pool is not active".into()));
        }
        Ok(p.volumes.iter().map(|v| p.vol_ref(v)).collect())
    }

    /// A volume of an active pool by name.
    pub fn vol_lookup_by_name(&self, pool: &str, name: &str) -> DriverResult<VolRef> {
        let p = self.find(pool)?;
        let v = p.vol(name)?;
        Ok(p.vol_ref(v))
    }

    /// A volume of any active pool by key.
    pub fn vol_lookup_by_key(&self, key: &str) -> DriverResult<VolRef> {
        self.pools
            .iter()
            .filter(|p| p.active)
            .find_map(|p| {
                p.volumes
                    .iter()
                    .find(|v| v.key == key)
                    .map(|v| p.vol_ref(v))
            })
            .ok_or_else(|| vol_not_found("key", key))
    }

    /// A volume of any active pool by path.
    pub fn vol_lookup_by_path(&self, path: &str) -> DriverResult<VolRef> {
        self.pools
            .iter()
            .filter(|p| p.active)
            .find_map(|p| {
                p.volumes
                    .iter()
                    .find(|v| v.path == path)
                    .map(|v| p.vol_ref(v))
            })
            .ok_or_else(|| vol_not_found("path", path))
    }

    /// Parse a new volume for an active pool and check name and free space.
    fn new_volume(&self, pool: &str, xml: &str) -> DriverResult<Volume> {
        let p = self.find(pool)?;
        p.check_active()?;
        let vol = Volume::parse(xml, &p.path())?;
        if p.volumes.iter().any(|v| v.name == vol.name) {
            return Err(DriverError::OperationFailed(
                ErrorDomain::Test,
                "storage vol already exists".into(),
            ));
        }
        if vol.allocation > p.available() {
            return Err(DriverError::Internal(
                ErrorDomain::Test,
                format!("Not enough free space in pool for volume '{}'", vol.name),
            ));
        }
        Ok(vol)
    }

    fn add_volume(&mut self, pool: &str, vol: Volume) -> DriverResult<VolRef> {
        let p = self.find_mut(pool)?;
        let r = p.vol_ref(&vol);
        p.volumes.push(vol);
        Ok(r)
    }

    /// Create a volume in an active pool (allocation defaults to the capacity and is taken
    /// from the pool's available space). No flags.
    pub fn vol_create_xml(&mut self, pool: &str, xml: &str, flags: u32) -> DriverResult<VolRef> {
        check_flags(flags, 0, "testStorageVolCreateXML")?;
        let vol = self.new_volume(pool, xml)?;
        self.add_volume(pool, vol)
    }

    /// Create a volume as a clone of `src` (which must exist in an active pool). No flags.
    pub fn vol_create_xml_from(
        &mut self,
        pool: &str,
        xml: &str,
        src: &VolRef,
        flags: u32,
    ) -> DriverResult<VolRef> {
        check_flags(flags, 0, "testStorageVolCreateXMLFrom")?;
        let vol = self.new_volume(pool, xml)?;
        self.find(&src.pool)?.vol(&src.name)?;
        self.add_volume(pool, vol)
    }

    /// Delete a volume, returning its allocation to the pool. No flags.
    pub fn vol_delete(&mut self, pool: &str, name: &str, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "testStorageVolDelete")?;
        let p = self.find_mut(pool)?;
        p.vol(name)?;
        p.volumes.retain(|v| v.name != name);
        Ok(())
    }

    /// Type, capacity and allocation of a volume.
    pub fn vol_get_info(&self, pool: &str, name: &str) -> DriverResult<VolInfo> {
        let v = self.find(pool)?.vol(name)?;
        Ok(VolInfo {
            vol_type: super::defs::vol_type_number(&v.vol_type),
            capacity: v.capacity,
            allocation: v.allocation,
        })
    }

    /// A volume's XML. No flags.
    pub fn vol_get_xml_desc(&self, pool: &str, name: &str, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "testStorageVolGetXMLDesc")?;
        Ok(self.find(pool)?.vol(name)?.to_xml())
    }

    /// A volume's path.
    pub fn vol_get_path(&self, pool: &str, name: &str) -> DriverResult<String> {
        Ok(self.find(pool)?.vol(name)?.path.clone())
    }
}

/// `virConnectFindStoragePoolSources` as the test driver answers it (canned sources).
pub fn find_pool_sources(pool_type: &str, spec: Option<&str>, flags: u32) -> DriverResult<String> {
    check_flags(flags, 0, "testConnectFindStoragePoolSources")?;
    match pool_type {
        "logical" => Ok(
            "<sources>\n  <source>\n    <device path='/dev/sda20'/>\n    \
             <name>testvg1</name>\n    <format type='lvm2'/>\n  </source>\n  <source>\n    \
             <device path='/dev/sda21'/>\n    <name>testvg2</name>\n    \
             <format type='lvm2'/>\n  </source>\n</sources>\n"
                .to_string(),
        ),
        "netfs" => {
            let host = spec.and_then(|s| {
                let doc = roxmltree::Document::parse(s).ok()?;
                let h = doc.descendants().find(|n| n.has_tag_name("host"))?;
                h.attribute("name").map(str::to_string)
            });
            let Some(host) = host else {
                return Err(DriverError::InvalidArg(
                    ErrorDomain::Test,
                    "hostname must be specified for netfs sources".into(),
                ));
            };
            Ok(format!(
                "<sources>\n  <source>\n    <host name='{}'/>\n    <dir path='/testshare'/>\n    \
                 <format type='nfs'/>\n  </source>\n</sources>\n",
                crate::network::xmlutil::escape(&host)
            ))
        }
        t if super::defs::POOL_TYPES.contains(&t) => Err(DriverError::Internal(
            ErrorDomain::Test,
            format!("unknown storage pool type {t}"),
        )),
        t => Err(raw(
            3,
            ErrorDomain::Test as i32,
            format!(
                "this function is not supported by the connection driver: pool type '{t}' does \
                 not support source discovery"
            ),
        )),
    }
}

//! Storage pools and volumes: list, lookup, define/create/build/destroy/delete/undefine,
//! refresh, info, XML, autostart; volumes by name, key or path, create (also as a clone),
//! delete, info, XML, path.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! let conn = oxvirt_client::Connection::open(Some("test:///default"), false).await?;
//! let pool = conn.lookup_storage_pool_by_name("default-pool").await?;
//! let vol = conn
//!     .storage_vol_create_xml(
//!         &pool,
//!         "<volume><name>disk.img</name><capacity unit='M'>16</capacity></volume>",
//!         0,
//!     )
//!     .await?;
//! let info = conn.storage_vol_get_info(&vol).await?;
//! println!("{} {} bytes", conn.storage_vol_get_path(&vol).await?, info.capacity);
//! conn.storage_vol_delete(&vol, 0).await?;
//! # Ok(()) }
//! ```

use super::{list_all_args, max_names, truth, Uuid};
use crate::connection::Connection;
use crate::error::ClientError;
use oxvirt_proto::remote::{self, limits, procs, StoragePool, StorageVol};

/// `VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE`.
pub const CONNECT_LIST_STORAGE_POOLS_INACTIVE: u32 = 1 << 0;
/// `VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE`.
pub const CONNECT_LIST_STORAGE_POOLS_ACTIVE: u32 = 1 << 1;
/// `VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT`.
pub const CONNECT_LIST_STORAGE_POOLS_PERSISTENT: u32 = 1 << 2;
/// `VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT`.
pub const CONNECT_LIST_STORAGE_POOLS_TRANSIENT: u32 = 1 << 3;
/// `VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART`.
pub const CONNECT_LIST_STORAGE_POOLS_AUTOSTART: u32 = 1 << 4;
/// `VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART`.
pub const CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART: u32 = 1 << 5;
/// `VIR_CONNECT_LIST_STORAGE_POOLS_DIR`.
pub const CONNECT_LIST_STORAGE_POOLS_DIR: u32 = 1 << 6;

/// `VIR_STORAGE_POOL_CREATE_NORMAL`.
pub const STORAGE_POOL_CREATE_NORMAL: u32 = 0;
/// `VIR_STORAGE_POOL_CREATE_WITH_BUILD`.
pub const STORAGE_POOL_CREATE_WITH_BUILD: u32 = 1 << 0;
/// `VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE`.
pub const STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE: u32 = 1 << 1;
/// `VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE`.
pub const STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE: u32 = 1 << 2;
/// `VIR_STORAGE_POOL_DEFINE_VALIDATE`.
pub const STORAGE_POOL_DEFINE_VALIDATE: u32 = 1 << 0;
/// `VIR_STORAGE_POOL_BUILD_NEW`.
pub const STORAGE_POOL_BUILD_NEW: u32 = 0;
/// `VIR_STORAGE_POOL_BUILD_REPAIR`.
pub const STORAGE_POOL_BUILD_REPAIR: u32 = 1 << 0;
/// `VIR_STORAGE_POOL_BUILD_RESIZE`.
pub const STORAGE_POOL_BUILD_RESIZE: u32 = 1 << 1;
/// `VIR_STORAGE_POOL_BUILD_NO_OVERWRITE`.
pub const STORAGE_POOL_BUILD_NO_OVERWRITE: u32 = 1 << 2;
/// `VIR_STORAGE_POOL_BUILD_OVERWRITE`.
pub const STORAGE_POOL_BUILD_OVERWRITE: u32 = 1 << 3;
/// `VIR_STORAGE_POOL_DELETE_NORMAL`.
pub const STORAGE_POOL_DELETE_NORMAL: u32 = 0;
/// `VIR_STORAGE_POOL_DELETE_ZEROED`.
pub const STORAGE_POOL_DELETE_ZEROED: u32 = 1 << 0;
/// `VIR_STORAGE_XML_INACTIVE`.
pub const STORAGE_XML_INACTIVE: u32 = 1 << 0;
/// `VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA`.
pub const STORAGE_VOL_CREATE_PREALLOC_METADATA: u32 = 1 << 0;
/// `VIR_STORAGE_VOL_CREATE_REFLINK`.
pub const STORAGE_VOL_CREATE_REFLINK: u32 = 1 << 1;
/// `VIR_STORAGE_VOL_DELETE_NORMAL`.
pub const STORAGE_VOL_DELETE_NORMAL: u32 = 0;
/// `VIR_STORAGE_VOL_DELETE_ZEROED`.
pub const STORAGE_VOL_DELETE_ZEROED: u32 = 1 << 0;
/// `VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS`.
pub const STORAGE_VOL_DELETE_WITH_SNAPSHOTS: u32 = 1 << 1;
/// `VIR_STORAGE_VOL_RESIZE_ALLOCATE`.
pub const STORAGE_VOL_RESIZE_ALLOCATE: u32 = 1 << 0;
/// `VIR_STORAGE_VOL_RESIZE_DELTA`.
pub const STORAGE_VOL_RESIZE_DELTA: u32 = 1 << 1;
/// `VIR_STORAGE_VOL_RESIZE_SHRINK`.
pub const STORAGE_VOL_RESIZE_SHRINK: u32 = 1 << 2;

/// `virStoragePoolState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoragePoolState {
    /// `VIR_STORAGE_POOL_INACTIVE` (0).
    Inactive,
    /// `VIR_STORAGE_POOL_BUILDING` (1).
    Building,
    /// `VIR_STORAGE_POOL_RUNNING` (2).
    Running,
    /// `VIR_STORAGE_POOL_DEGRADED` (3).
    Degraded,
    /// `VIR_STORAGE_POOL_INACCESSIBLE` (4).
    Inaccessible,
    /// A number this client does not know.
    Other(u32),
}

impl StoragePoolState {
    /// From libvirt's number.
    pub fn from_raw(v: u32) -> Self {
        match v {
            0 => Self::Inactive,
            1 => Self::Building,
            2 => Self::Running,
            3 => Self::Degraded,
            4 => Self::Inaccessible,
            n => Self::Other(n),
        }
    }
}

/// `virStorageVolType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageVolType {
    /// `VIR_STORAGE_VOL_FILE` (0).
    File,
    /// `VIR_STORAGE_VOL_BLOCK` (1).
    Block,
    /// `VIR_STORAGE_VOL_DIR` (2).
    Dir,
    /// `VIR_STORAGE_VOL_NETWORK` (3).
    Network,
    /// `VIR_STORAGE_VOL_NETDIR` (4).
    NetDir,
    /// `VIR_STORAGE_VOL_PLOOP` (5).
    Ploop,
    /// A number this client does not know.
    Other(i32),
}

impl StorageVolType {
    /// From libvirt's number.
    pub fn from_raw(v: i32) -> Self {
        match v {
            0 => Self::File,
            1 => Self::Block,
            2 => Self::Dir,
            3 => Self::Network,
            4 => Self::NetDir,
            5 => Self::Ploop,
            n => Self::Other(n),
        }
    }
}

/// `virStoragePoolInfo` (sizes in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoragePoolInfo {
    /// The pool's state.
    pub state: StoragePoolState,
    /// Logical size.
    pub capacity: u64,
    /// Current allocation.
    pub allocation: u64,
    /// Free space.
    pub available: u64,
}

/// `virStorageVolInfo` (sizes in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageVolInfo {
    /// The volume's type.
    pub kind: StorageVolType,
    /// Logical size.
    pub capacity: u64,
    /// Current allocation.
    pub allocation: u64,
}

fn pool_args(pool: &StoragePool) -> remote::PoolArgs {
    remote::PoolArgs { pool: pool.clone() }
}

fn pool_flags(pool: &StoragePool, flags: u32) -> remote::PoolFlagsArgs {
    remote::PoolFlagsArgs {
        pool: pool.clone(),
        flags,
    }
}

fn vol_flags(vol: &StorageVol, flags: u32) -> remote::VolFlagsArgs {
    remote::VolFlagsArgs {
        vol: vol.clone(),
        flags,
    }
}

impl Connection {
    /// `virConnectListAllStoragePools` (`flags`: `CONNECT_LIST_STORAGE_POOLS_*`).
    pub async fn list_all_storage_pools(
        &self,
        flags: u32,
    ) -> Result<Vec<StoragePool>, ClientError> {
        let r: remote::ListAllPoolsRet = self
            .call(procs::CONNECT_LIST_ALL_STORAGE_POOLS, &list_all_args(flags))
            .await?;
        Ok(r.pools)
    }

    /// `virConnectNumOfStoragePools`: active pools.
    pub async fn num_of_storage_pools(&self) -> Result<i32, ClientError> {
        let r: remote::IntRet = self.call(procs::CONNECT_NUM_OF_STORAGE_POOLS, &()).await?;
        Ok(r.value)
    }

    /// `virConnectListStoragePools`: names of the active pools.
    pub async fn list_storage_pools(&self) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::CONNECT_LIST_STORAGE_POOLS,
                &remote::MaxNamesArgs {
                    maxnames: max_names(limits::STORAGE_POOL_LIST_MAX),
                },
            )
            .await?;
        Ok(r.names)
    }

    /// `virConnectNumOfDefinedStoragePools`: inactive persistent pools.
    pub async fn num_of_defined_storage_pools(&self) -> Result<i32, ClientError> {
        let r: remote::IntRet = self
            .call(procs::CONNECT_NUM_OF_DEFINED_STORAGE_POOLS, &())
            .await?;
        Ok(r.value)
    }

    /// `virConnectListDefinedStoragePools`: names of the inactive persistent pools.
    pub async fn list_defined_storage_pools(&self) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::CONNECT_LIST_DEFINED_STORAGE_POOLS,
                &remote::MaxNamesArgs {
                    maxnames: max_names(limits::STORAGE_POOL_LIST_MAX),
                },
            )
            .await?;
        Ok(r.names)
    }

    /// `virStoragePoolLookupByName`.
    pub async fn lookup_storage_pool_by_name(
        &self,
        name: &str,
    ) -> Result<StoragePool, ClientError> {
        let r: remote::PoolRet = self
            .call(
                procs::STORAGE_POOL_LOOKUP_BY_NAME,
                &remote::LookupByNameArgs { name: name.into() },
            )
            .await?;
        Ok(r.pool)
    }

    /// `virStoragePoolLookupByUUID`.
    pub async fn lookup_storage_pool_by_uuid(
        &self,
        uuid: &Uuid,
    ) -> Result<StoragePool, ClientError> {
        let r: remote::PoolRet = self
            .call(
                procs::STORAGE_POOL_LOOKUP_BY_UUID,
                &remote::LookupByUuidArgs {
                    uuid: (*uuid).into(),
                },
            )
            .await?;
        Ok(r.pool)
    }

    /// `virStoragePoolLookupByVolume`: the pool holding `vol`.
    pub async fn lookup_storage_pool_by_volume(
        &self,
        vol: &StorageVol,
    ) -> Result<StoragePool, ClientError> {
        let r: remote::PoolRet = self
            .call(
                procs::STORAGE_POOL_LOOKUP_BY_VOLUME,
                &remote::VolArgs { vol: vol.clone() },
            )
            .await?;
        Ok(r.pool)
    }

    /// `virStoragePoolDefineXML` (`flags`: [`STORAGE_POOL_DEFINE_VALIDATE`]).
    pub async fn storage_pool_define_xml(
        &self,
        xml: &str,
        flags: u32,
    ) -> Result<StoragePool, ClientError> {
        let r: remote::PoolRet = self
            .call(
                procs::STORAGE_POOL_DEFINE_XML,
                &remote::XmlFlagsArgs {
                    xml: xml.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.pool)
    }

    /// `virStoragePoolCreateXML`: starts a transient pool (`flags`: `STORAGE_POOL_CREATE_*`).
    pub async fn storage_pool_create_xml(
        &self,
        xml: &str,
        flags: u32,
    ) -> Result<StoragePool, ClientError> {
        let r: remote::PoolRet = self
            .call(
                procs::STORAGE_POOL_CREATE_XML,
                &remote::XmlFlagsArgs {
                    xml: xml.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.pool)
    }

    /// `virStoragePoolCreate`: starts a defined pool (`flags`: `STORAGE_POOL_CREATE_*`).
    pub async fn storage_pool_create(
        &self,
        pool: &StoragePool,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(procs::STORAGE_POOL_CREATE, &pool_flags(pool, flags))
            .await
    }

    /// `virStoragePoolBuild` (`flags`: `STORAGE_POOL_BUILD_*`).
    pub async fn storage_pool_build(
        &self,
        pool: &StoragePool,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(procs::STORAGE_POOL_BUILD, &pool_flags(pool, flags))
            .await
    }

    /// `virStoragePoolDestroy`: stops a pool.
    pub async fn storage_pool_destroy(&self, pool: &StoragePool) -> Result<(), ClientError> {
        self.call(procs::STORAGE_POOL_DESTROY, &pool_args(pool))
            .await
    }

    /// `virStoragePoolDelete`: removes the pool's underlying storage
    /// (`flags`: `STORAGE_POOL_DELETE_*`).
    pub async fn storage_pool_delete(
        &self,
        pool: &StoragePool,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(procs::STORAGE_POOL_DELETE, &pool_flags(pool, flags))
            .await
    }

    /// `virStoragePoolUndefine`.
    pub async fn storage_pool_undefine(&self, pool: &StoragePool) -> Result<(), ClientError> {
        self.call(procs::STORAGE_POOL_UNDEFINE, &pool_args(pool))
            .await
    }

    /// `virStoragePoolRefresh`.
    pub async fn storage_pool_refresh(
        &self,
        pool: &StoragePool,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(procs::STORAGE_POOL_REFRESH, &pool_flags(pool, flags))
            .await
    }

    /// `virStoragePoolGetInfo`.
    pub async fn storage_pool_get_info(
        &self,
        pool: &StoragePool,
    ) -> Result<StoragePoolInfo, ClientError> {
        let r: remote::PoolGetInfoRet = self
            .call(procs::STORAGE_POOL_GET_INFO, &pool_args(pool))
            .await?;
        Ok(StoragePoolInfo {
            state: StoragePoolState::from_raw(r.state),
            capacity: r.capacity,
            allocation: r.allocation,
            available: r.available,
        })
    }

    /// `virStoragePoolGetXMLDesc` (`flags`: [`STORAGE_XML_INACTIVE`]).
    pub async fn storage_pool_get_xml_desc(
        &self,
        pool: &StoragePool,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(procs::STORAGE_POOL_GET_XML_DESC, &pool_flags(pool, flags))
            .await?;
        Ok(r.value)
    }

    /// `virStoragePoolGetAutostart`.
    pub async fn storage_pool_get_autostart(
        &self,
        pool: &StoragePool,
    ) -> Result<bool, ClientError> {
        let r: remote::IntRet = self
            .call(procs::STORAGE_POOL_GET_AUTOSTART, &pool_args(pool))
            .await?;
        Ok(truth(r.value))
    }

    /// `virStoragePoolSetAutostart`.
    pub async fn storage_pool_set_autostart(
        &self,
        pool: &StoragePool,
        autostart: bool,
    ) -> Result<(), ClientError> {
        self.call(
            procs::STORAGE_POOL_SET_AUTOSTART,
            &remote::PoolSetAutostartArgs {
                pool: pool.clone(),
                autostart: autostart.into(),
            },
        )
        .await
    }

    /// `virStoragePoolIsActive`.
    pub async fn storage_pool_is_active(&self, pool: &StoragePool) -> Result<bool, ClientError> {
        let r: remote::IntRet = self
            .call(procs::STORAGE_POOL_IS_ACTIVE, &pool_args(pool))
            .await?;
        Ok(truth(r.value))
    }

    /// `virStoragePoolIsPersistent`.
    pub async fn storage_pool_is_persistent(
        &self,
        pool: &StoragePool,
    ) -> Result<bool, ClientError> {
        let r: remote::IntRet = self
            .call(procs::STORAGE_POOL_IS_PERSISTENT, &pool_args(pool))
            .await?;
        Ok(truth(r.value))
    }

    /// `virStoragePoolNumOfVolumes`.
    pub async fn storage_pool_num_of_volumes(
        &self,
        pool: &StoragePool,
    ) -> Result<i32, ClientError> {
        let r: remote::IntRet = self
            .call(procs::STORAGE_POOL_NUM_OF_VOLUMES, &pool_args(pool))
            .await?;
        Ok(r.value)
    }

    /// `virStoragePoolListVolumes`: volume names.
    pub async fn storage_pool_list_volumes(
        &self,
        pool: &StoragePool,
    ) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::STORAGE_POOL_LIST_VOLUMES,
                &remote::PoolListVolumesArgs {
                    pool: pool.clone(),
                    maxnames: max_names(limits::STORAGE_VOL_LIST_MAX),
                },
            )
            .await?;
        Ok(r.names)
    }

    /// `virStoragePoolListAllVolumes` (`flags` must be 0).
    pub async fn storage_pool_list_all_volumes(
        &self,
        pool: &StoragePool,
        flags: u32,
    ) -> Result<Vec<StorageVol>, ClientError> {
        let r: remote::ListAllVolumesRet = self
            .call(
                procs::STORAGE_POOL_LIST_ALL_VOLUMES,
                &remote::PoolListAllVolumesArgs {
                    pool: pool.clone(),
                    need_results: 1,
                    flags,
                },
            )
            .await?;
        Ok(r.vols)
    }

    /// `virStorageVolLookupByName`: a volume of `pool`.
    pub async fn lookup_storage_vol_by_name(
        &self,
        pool: &StoragePool,
        name: &str,
    ) -> Result<StorageVol, ClientError> {
        let r: remote::VolRet = self
            .call(
                procs::STORAGE_VOL_LOOKUP_BY_NAME,
                &remote::VolLookupByNameArgs {
                    pool: pool.clone(),
                    name: name.into(),
                },
            )
            .await?;
        Ok(r.vol)
    }

    /// `virStorageVolLookupByKey`: a volume by its globally unique key.
    pub async fn lookup_storage_vol_by_key(&self, key: &str) -> Result<StorageVol, ClientError> {
        let r: remote::VolRet = self
            .call(
                procs::STORAGE_VOL_LOOKUP_BY_KEY,
                &remote::VolLookupByKeyArgs { key: key.into() },
            )
            .await?;
        Ok(r.vol)
    }

    /// `virStorageVolLookupByPath`: a volume by its path on the host.
    pub async fn lookup_storage_vol_by_path(&self, path: &str) -> Result<StorageVol, ClientError> {
        let r: remote::VolRet = self
            .call(
                procs::STORAGE_VOL_LOOKUP_BY_PATH,
                &remote::VolLookupByPathArgs { path: path.into() },
            )
            .await?;
        Ok(r.vol)
    }

    /// `virStorageVolCreateXML` (`flags`: `STORAGE_VOL_CREATE_*`).
    pub async fn storage_vol_create_xml(
        &self,
        pool: &StoragePool,
        xml: &str,
        flags: u32,
    ) -> Result<StorageVol, ClientError> {
        let r: remote::VolRet = self
            .call(
                procs::STORAGE_VOL_CREATE_XML,
                &remote::PoolXmlFlagsArgs {
                    pool: pool.clone(),
                    xml: xml.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.vol)
    }

    /// `virStorageVolCreateXMLFrom`: a new volume in `pool` initialised from `clone_of`.
    pub async fn storage_vol_create_xml_from(
        &self,
        pool: &StoragePool,
        xml: &str,
        clone_of: &StorageVol,
        flags: u32,
    ) -> Result<StorageVol, ClientError> {
        let r: remote::VolRet = self
            .call(
                procs::STORAGE_VOL_CREATE_XML_FROM,
                &remote::PoolXmlFromArgs {
                    pool: pool.clone(),
                    xml: xml.into(),
                    clonevol: clone_of.clone(),
                    flags,
                },
            )
            .await?;
        Ok(r.vol)
    }

    /// `virStorageVolDelete` (`flags`: `STORAGE_VOL_DELETE_*`).
    pub async fn storage_vol_delete(
        &self,
        vol: &StorageVol,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(procs::STORAGE_VOL_DELETE, &vol_flags(vol, flags))
            .await
    }

    /// `virStorageVolWipe`.
    pub async fn storage_vol_wipe(&self, vol: &StorageVol, flags: u32) -> Result<(), ClientError> {
        self.call(procs::STORAGE_VOL_WIPE, &vol_flags(vol, flags))
            .await
    }

    /// `virStorageVolResize` (`flags`: `STORAGE_VOL_RESIZE_*`).
    pub async fn storage_vol_resize(
        &self,
        vol: &StorageVol,
        capacity: u64,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(
            procs::STORAGE_VOL_RESIZE,
            &remote::VolResizeArgs {
                vol: vol.clone(),
                capacity,
                flags,
            },
        )
        .await
    }

    /// `virStorageVolGetInfo`.
    pub async fn storage_vol_get_info(
        &self,
        vol: &StorageVol,
    ) -> Result<StorageVolInfo, ClientError> {
        let r: remote::VolGetInfoRet = self
            .call(
                procs::STORAGE_VOL_GET_INFO,
                &remote::VolArgs { vol: vol.clone() },
            )
            .await?;
        Ok(StorageVolInfo {
            kind: StorageVolType::from_raw(r.type_),
            capacity: r.capacity,
            allocation: r.allocation,
        })
    }

    /// `virStorageVolGetXMLDesc`.
    pub async fn storage_vol_get_xml_desc(
        &self,
        vol: &StorageVol,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(procs::STORAGE_VOL_GET_XML_DESC, &vol_flags(vol, flags))
            .await?;
        Ok(r.value)
    }

    /// `virStorageVolGetPath`: the volume's path on the host.
    pub async fn storage_vol_get_path(&self, vol: &StorageVol) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(
                procs::STORAGE_VOL_GET_PATH,
                &remote::VolArgs { vol: vol.clone() },
            )
            .await?;
        Ok(r.value)
    }
}

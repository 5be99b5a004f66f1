//! The remote procedures oxvirt serves, described once: number, public API name (used in
//! read-only denials) and access class. A new procedure is one line here plus one handler arm.

use oxvirt_proto::remote::procs as p;
use oxvirt_virerror::ErrorDomain;

/// May a read-only connection call it?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Allowed on read-only connections.
    Read,
    /// Changes state: refused on read-only connections.
    Write,
}

/// The error domain of the public API behind a procedure libvirt 9.0 has and our drivers lack:
/// libvirt reports "not supported" from the API's own module (libvirt-secret.c reports in the
/// secret domain, libvirt-host.c in none, ...), which follows the object family in the name.
pub fn api_module(proc_name: &str) -> ErrorDomain {
    let family = |w: &str| proc_name.contains(w);
    if family("NWFILTER") {
        ErrorDomain::Nwfilter
    } else if family("SECRET") {
        ErrorDomain::Secret
    } else if family("STORAGE") {
        ErrorDomain::Storage
    } else if family("NODE_DEVICE")
        || proc_name.starts_with("NODE_NUM_OF_DEVICES")
        || proc_name.starts_with("NODE_LIST_DEVICES")
    {
        ErrorDomain::Nodedev
    } else if family("INTERFACE") && !proc_name.starts_with("DOMAIN_") {
        ErrorDomain::Interface
    } else if family("NETWORK") && !proc_name.starts_with("DOMAIN_") {
        ErrorDomain::Network
    } else if family("DOMAIN_SNAPSHOT") {
        ErrorDomain::DomainSnapshot
    } else if family("DOMAIN_CHECKPOINT") {
        ErrorDomain::DomainCheckpoint
    } else if family("DOMAIN") {
        ErrorDomain::Domain
    } else {
        ErrorDomain::None
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcInfo {
    pub proc_: i32,
    pub api: &'static str,
    pub access: Access,
    /// The API module, which is the error domain of a read-only denial.
    pub module: ErrorDomain,
}

macro_rules! table {
    ($( $access:ident $proc:ident $api:literal $module:ident ;)*) => {
        /// Every served procedure.
        pub const PROCS: &[ProcInfo] = &[
            $( ProcInfo { proc_: p::$proc, api: $api, access: Access::$access, module: ErrorDomain::$module }, )*
        ];
    };
}

table! {
    Read  AUTH_LIST "virConnectAuthList" None;
    Read  CONNECT_OPEN "virConnectOpen" None;
    Read  CONNECT_CLOSE "virConnectClose" None;
    Read  CONNECT_SUPPORTS_FEATURE "virConnectSupportsFeature" None;
    Read  CONNECT_GET_TYPE "virConnectGetType" None;
    Read  CONNECT_GET_VERSION "virConnectGetVersion" None;
    Read  CONNECT_GET_LIB_VERSION "virConnectGetLibVersion" None;
    Read  CONNECT_GET_HOSTNAME "virConnectGetHostname" None;
    Read  CONNECT_GET_URI "virConnectGetURI" None;
    Read  CONNECT_GET_CAPABILITIES "virConnectGetCapabilities" None;
    Read  CONNECT_GET_SYSINFO "virConnectGetSysinfo" None;
    Read  CONNECT_GET_MAX_VCPUS "virConnectGetMaxVcpus" None;
    Read  CONNECT_IS_SECURE "virConnectIsSecure" None;
    Read  CONNECT_REGISTER_CLOSE_CALLBACK "virConnectRegisterCloseCallback" None;
    Read  CONNECT_UNREGISTER_CLOSE_CALLBACK "virConnectUnregisterCloseCallback" None;
    Read  NODE_GET_INFO "virNodeGetInfo" None;
    Read  NODE_GET_FREE_MEMORY "virNodeGetFreeMemory" None;
    Read  NODE_GET_CELLS_FREE_MEMORY "virNodeGetCellsFreeMemory" None;
    Read  NODE_GET_SECURITY_MODEL "virNodeGetSecurityModel" None;

    Read  CONNECT_LIST_ALL_DOMAINS "virConnectListAllDomains" None;
    Read  CONNECT_NUM_OF_DOMAINS "virConnectNumOfDomains" None;
    Read  CONNECT_LIST_DOMAINS "virConnectListDomains" None;
    Read  CONNECT_NUM_OF_DEFINED_DOMAINS "virConnectNumOfDefinedDomains" None;
    Read  CONNECT_LIST_DEFINED_DOMAINS "virConnectListDefinedDomains" None;
    Read  DOMAIN_LOOKUP_BY_ID "virDomainLookupByID" Domain;
    Read  DOMAIN_LOOKUP_BY_NAME "virDomainLookupByName" Domain;
    Read  DOMAIN_LOOKUP_BY_UUID "virDomainLookupByUUID" Domain;
    Write DOMAIN_DEFINE_XML "virDomainDefineXML" Domain;
    Write DOMAIN_DEFINE_XML_FLAGS "virDomainDefineXMLFlags" Domain;
    Write DOMAIN_CREATE_XML "virDomainCreateXML" Domain;
    Write DOMAIN_CREATE "virDomainCreate" Domain;
    Write DOMAIN_CREATE_WITH_FLAGS "virDomainCreateWithFlags" Domain;
    Write DOMAIN_DESTROY "virDomainDestroy" Domain;
    Write DOMAIN_DESTROY_FLAGS "virDomainDestroyFlags" Domain;
    Write DOMAIN_SHUTDOWN "virDomainShutdown" Domain;
    Write DOMAIN_SHUTDOWN_FLAGS "virDomainShutdownFlags" Domain;
    Write DOMAIN_REBOOT "virDomainReboot" Domain;
    Write DOMAIN_RESET "virDomainReset" Domain;
    Write DOMAIN_SUSPEND "virDomainSuspend" Domain;
    Write DOMAIN_RESUME "virDomainResume" Domain;
    Write DOMAIN_UNDEFINE "virDomainUndefine" Domain;
    Write DOMAIN_UNDEFINE_FLAGS "virDomainUndefineFlags" Domain;
    Read  DOMAIN_GET_INFO "virDomainGetInfo" Domain;
    Read  DOMAIN_GET_STATE "virDomainGetState" Domain;
    Read  DOMAIN_GET_XML_DESC "virDomainGetXMLDesc" Domain;
    Read  DOMAIN_GET_OS_TYPE "virDomainGetOSType" Domain;
    Read  DOMAIN_GET_MAX_MEMORY "virDomainGetMaxMemory" Domain;
    Read  DOMAIN_GET_MAX_VCPUS "virDomainGetMaxVcpus" Domain;
    Read  DOMAIN_GET_AUTOSTART "virDomainGetAutostart" Domain;
    Write DOMAIN_SET_AUTOSTART "virDomainSetAutostart" Domain;
    Read  DOMAIN_IS_ACTIVE "virDomainIsActive" Domain;
    Read  DOMAIN_IS_PERSISTENT "virDomainIsPersistent" Domain;
    Read  DOMAIN_IS_UPDATED "virDomainIsUpdated" Domain;
    Read  DOMAIN_HAS_MANAGED_SAVE_IMAGE "virDomainHasManagedSaveImage" Domain;
    Read  DOMAIN_GET_SECURITY_LABEL "virDomainGetSecurityLabel" Domain;
    Read  DOMAIN_GET_MESSAGES "virDomainGetMessages" Domain;
    Read  DOMAIN_SNAPSHOT_NUM "virDomainSnapshotNum" Domain;
    Write DOMAIN_SET_MEMORY "virDomainSetMemory" Domain;
    Write DOMAIN_SET_MAX_MEMORY "virDomainSetMaxMemory" Domain;
    Write DOMAIN_SET_MEMORY_FLAGS "virDomainSetMemoryFlags" Domain;
    Write DOMAIN_SET_VCPUS "virDomainSetVcpus" Domain;
    Write DOMAIN_SET_VCPUS_FLAGS "virDomainSetVcpusFlags" Domain;
    Read  DOMAIN_GET_VCPUS_FLAGS "virDomainGetVcpusFlags" Domain;
    Read  CONNECT_DOMAIN_EVENT_REGISTER "virConnectDomainEventRegister" None;
    Read  CONNECT_DOMAIN_EVENT_DEREGISTER "virConnectDomainEventDeregister" None;
    Read  CONNECT_DOMAIN_EVENT_REGISTER_ANY "virConnectDomainEventRegisterAny" None;
    Read  CONNECT_DOMAIN_EVENT_DEREGISTER_ANY "virConnectDomainEventDeregisterAny" None;
    Read  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY "virConnectDomainEventRegisterAny" None;
    Read  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY "virConnectDomainEventDeregisterAny" None;

    Read  CONNECT_LIST_ALL_NETWORKS "virConnectListAllNetworks" None;
    Read  CONNECT_NUM_OF_NETWORKS "virConnectNumOfNetworks" None;
    Read  CONNECT_LIST_NETWORKS "virConnectListNetworks" None;
    Read  CONNECT_NUM_OF_DEFINED_NETWORKS "virConnectNumOfDefinedNetworks" None;
    Read  CONNECT_LIST_DEFINED_NETWORKS "virConnectListDefinedNetworks" None;
    Read  NETWORK_LOOKUP_BY_NAME "virNetworkLookupByName" Network;
    Read  NETWORK_LOOKUP_BY_UUID "virNetworkLookupByUUID" Network;
    Write NETWORK_DEFINE_XML "virNetworkDefineXML" Network;
    Write NETWORK_DEFINE_XML_FLAGS "virNetworkDefineXMLFlags" Network;
    Write NETWORK_CREATE_XML "virNetworkCreateXML" Network;
    Write NETWORK_CREATE "virNetworkCreate" Network;
    Write NETWORK_DESTROY "virNetworkDestroy" Network;
    Write NETWORK_UNDEFINE "virNetworkUndefine" Network;
    Read  NETWORK_GET_XML_DESC "virNetworkGetXMLDesc" Network;
    Read  NETWORK_GET_AUTOSTART "virNetworkGetAutostart" Network;
    Write NETWORK_SET_AUTOSTART "virNetworkSetAutostart" Network;
    Read  NETWORK_IS_ACTIVE "virNetworkIsActive" Network;
    Read  NETWORK_IS_PERSISTENT "virNetworkIsPersistent" Network;
    Read  NETWORK_GET_BRIDGE_NAME "virNetworkGetBridgeName" Network;
    Read  CONNECT_NETWORK_EVENT_REGISTER_ANY "virConnectNetworkEventRegisterAny" None;
    Read  CONNECT_NETWORK_EVENT_DEREGISTER_ANY "virConnectNetworkEventDeregisterAny" None;

    Read  CONNECT_LIST_ALL_STORAGE_POOLS "virConnectListAllStoragePools" None;
    Read  CONNECT_NUM_OF_STORAGE_POOLS "virConnectNumOfStoragePools" None;
    Read  CONNECT_LIST_STORAGE_POOLS "virConnectListStoragePools" None;
    Read  CONNECT_NUM_OF_DEFINED_STORAGE_POOLS "virConnectNumOfDefinedStoragePools" None;
    Read  CONNECT_LIST_DEFINED_STORAGE_POOLS "virConnectListDefinedStoragePools" None;
    Read  STORAGE_POOL_LOOKUP_BY_NAME "virStoragePoolLookupByName" Storage;
    Read  STORAGE_POOL_LOOKUP_BY_UUID "virStoragePoolLookupByUUID" Storage;
    Read  STORAGE_POOL_LOOKUP_BY_VOLUME "virStoragePoolLookupByVolume" Storage;
    Write STORAGE_POOL_DEFINE_XML "virStoragePoolDefineXML" Storage;
    Write STORAGE_POOL_CREATE_XML "virStoragePoolCreateXML" Storage;
    Write STORAGE_POOL_CREATE "virStoragePoolCreate" Storage;
    Write STORAGE_POOL_BUILD "virStoragePoolBuild" Storage;
    Write STORAGE_POOL_DESTROY "virStoragePoolDestroy" Storage;
    Write STORAGE_POOL_DELETE "virStoragePoolDelete" Storage;
    Write STORAGE_POOL_UNDEFINE "virStoragePoolUndefine" Storage;
    Write STORAGE_POOL_REFRESH "virStoragePoolRefresh" Storage;
    Read  STORAGE_POOL_GET_INFO "virStoragePoolGetInfo" Storage;
    Read  STORAGE_POOL_GET_XML_DESC "virStoragePoolGetXMLDesc" Storage;
    Read  STORAGE_POOL_GET_AUTOSTART "virStoragePoolGetAutostart" Storage;
    Write STORAGE_POOL_SET_AUTOSTART "virStoragePoolSetAutostart" Storage;
    Read  STORAGE_POOL_IS_ACTIVE "virStoragePoolIsActive" Storage;
    Read  STORAGE_POOL_IS_PERSISTENT "virStoragePoolIsPersistent" Storage;
    Read  STORAGE_POOL_NUM_OF_VOLUMES "virStoragePoolNumOfVolumes" Storage;
    Read  STORAGE_POOL_LIST_VOLUMES "virStoragePoolListVolumes" Storage;
    Read  STORAGE_POOL_LIST_ALL_VOLUMES "virStoragePoolListAllVolumes" Storage;
    Read  STORAGE_VOL_LOOKUP_BY_NAME "virStorageVolLookupByName" Storage;
    Read  STORAGE_VOL_LOOKUP_BY_KEY "virStorageVolLookupByKey" Storage;
    Read  STORAGE_VOL_LOOKUP_BY_PATH "virStorageVolLookupByPath" Storage;
    Write STORAGE_VOL_CREATE_XML "virStorageVolCreateXML" Storage;
    Write STORAGE_VOL_CREATE_XML_FROM "virStorageVolCreateXMLFrom" Storage;
    Write STORAGE_VOL_DELETE "virStorageVolDelete" Storage;
    Read  STORAGE_VOL_GET_INFO "virStorageVolGetInfo" Storage;
    Read  STORAGE_VOL_GET_XML_DESC "virStorageVolGetXMLDesc" Storage;
    Read  STORAGE_VOL_GET_PATH "virStorageVolGetPath" Storage;
    Read  CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY "virConnectStoragePoolEventRegisterAny" None;
    Read  CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY "virConnectStoragePoolEventDeregisterAny" None;

    Read  CONNECT_LIST_ALL_INTERFACES "virConnectListAllInterfaces" None;
    Read  CONNECT_NUM_OF_INTERFACES "virConnectNumOfInterfaces" None;
    Read  CONNECT_LIST_INTERFACES "virConnectListInterfaces" None;
    Read  CONNECT_NUM_OF_DEFINED_INTERFACES "virConnectNumOfDefinedInterfaces" None;
    Read  CONNECT_LIST_DEFINED_INTERFACES "virConnectListDefinedInterfaces" None;
    Read  INTERFACE_LOOKUP_BY_NAME "virInterfaceLookupByName" Interface;
    Read  INTERFACE_LOOKUP_BY_MAC_STRING "virInterfaceLookupByMACString" Interface;
    Read  INTERFACE_GET_XML_DESC "virInterfaceGetXMLDesc" Interface;
    Read  INTERFACE_IS_ACTIVE "virInterfaceIsActive" Interface;
    Write INTERFACE_DEFINE_XML "virInterfaceDefineXML" Interface;
    Write INTERFACE_UNDEFINE "virInterfaceUndefine" Interface;
    Write INTERFACE_CREATE "virInterfaceCreate" Interface;
    Write INTERFACE_DESTROY "virInterfaceDestroy" Interface;

    Read  CONNECT_LIST_ALL_NODE_DEVICES "virConnectListAllNodeDevices" None;
    Read  NODE_NUM_OF_DEVICES "virNodeNumOfDevices" None;
    Read  NODE_LIST_DEVICES "virNodeListDevices" None;
    Read  NODE_DEVICE_LOOKUP_BY_NAME "virNodeDeviceLookupByName" Nodedev;
    Read  NODE_DEVICE_GET_XML_DESC "virNodeDeviceGetXMLDesc" Nodedev;
    Read  NODE_DEVICE_GET_PARENT "virNodeDeviceGetParent" Nodedev;
    Read  NODE_DEVICE_NUM_OF_CAPS "virNodeDeviceNumOfCaps" Nodedev;
    Read  NODE_DEVICE_LIST_CAPS "virNodeDeviceListCaps" Nodedev;
}

/// The row for `proc_`, if served.
pub fn info(proc_: i32) -> Option<&'static ProcInfo> {
    // Called for every call: index by procedure number (built once) instead of scanning.
    static INDEX: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    const NONE: u16 = u16::MAX;
    let index = INDEX.get_or_init(|| {
        let max = PROCS.iter().map(|i| i.proc_).max().unwrap_or(0) as usize;
        let mut v = vec![NONE; max + 1];
        for (n, i) in PROCS.iter().enumerate() {
            v[i.proc_ as usize] = n as u16;
        }
        v
    });
    let slot = *index.get(usize::try_from(proc_).ok()?)?;
    (slot != NONE).then(|| &PROCS[slot as usize])
}

/// libvirt's public API name for a procedure name, e.g. NODE_GET_MEMORY_STATS ->
/// virNodeGetMemoryStats (used in "not supported by the connection driver" errors).
pub fn api_name(proc_name: &str) -> String {
    const UPPER: &[&str] = &[
        "XML", "UUID", "ID", "MAC", "CPU", "URI", "IO", "FD", "PCI", "SCSI", "USB", "TLS", "PM",
        "SSH", "SEV",
    ];
    // Words libvirt's public names spell with mixed case.
    const MIXED: &[(&str, &str)] = &[
        ("NWFILTER", "NWFilter"),
        ("NWFILTERS", "NWFilters"),
        ("FSTRIM", "FSTrim"),
        ("FSFREEZE", "FSFreeze"),
        ("FSTHAW", "FSThaw"),
        ("FSINFO", "FSInfo"),
        ("IOTHREAD", "IOThread"),
        ("IOTHREADS", "IOThreads"),
    ];
    let mut out = String::from("vir");
    for w in proc_name.split('_') {
        if UPPER.contains(&w) {
            out.push_str(w);
        } else if let Some((_, m)) = MIXED.iter().find(|(k, _)| *k == w) {
            out.push_str(m);
        } else {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                out.push(f);
                out.extend(c.map(|c| c.to_ascii_lowercase()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_named() {
        let mut seen = std::collections::HashSet::new();
        for i in PROCS {
            assert!(seen.insert(i.proc_), "duplicate {}", i.proc_);
            assert!(p::name(i.proc_).is_some());
        }
    }

    #[test]
    fn api_names() {
        assert_eq!(api_name("NODE_GET_MEMORY_STATS"), "virNodeGetMemoryStats");
        assert_eq!(api_name("DOMAIN_GET_XML_DESC"), "virDomainGetXMLDesc");
        assert_eq!(api_name("DOMAIN_LOOKUP_BY_UUID"), "virDomainLookupByUUID");
        assert_eq!(
            api_name("CONNECT_LIST_ALL_NWFILTERS"),
            "virConnectListAllNWFilters"
        );
        assert_eq!(api_name("NWFILTER_DEFINE_XML"), "virNWFilterDefineXML");
        assert_eq!(api_name("DOMAIN_FSTRIM"), "virDomainFSTrim");
        assert_eq!(api_name("DOMAIN_PM_WAKEUP"), "virDomainPMWakeup");
        assert_eq!(
            api_name("DOMAIN_SET_IOTHREAD_PARAMS"),
            "virDomainSetIOThreadParams"
        );
        assert_eq!(api_module("CONNECT_LIST_ALL_SECRETS"), ErrorDomain::Secret);
        assert_eq!(api_module("NWFILTER_UNDEFINE"), ErrorDomain::Nwfilter);
        assert_eq!(api_module("DOMAIN_SET_METADATA"), ErrorDomain::Domain);
        assert_eq!(
            api_module("CONNECT_GET_ALL_DOMAIN_STATS"),
            ErrorDomain::Domain
        );
        assert_eq!(api_module("NODE_GET_MEMORY_STATS"), ErrorDomain::None);
    }

    #[test]
    fn classification_samples() {
        assert_eq!(info(p::DOMAIN_DESTROY).unwrap().access, Access::Write);
        assert_eq!(info(p::DOMAIN_GET_INFO).unwrap().access, Access::Read);
        assert_eq!(info(p::DOMAIN_DESTROY).unwrap().module, ErrorDomain::Domain);
        assert!(info(9999).is_none());
        assert!(info(-1).is_none() && info(0).is_none());
        for i in PROCS {
            assert_eq!(info(i.proc_), Some(i));
        }
    }
}

//! Argument (`*Args`) and return (`*Ret`) structs of the remote procedures oxvirt serves, in
//! libvirt's field order. Procedures with void arguments or results use `()`.

use super::objects::{Domain, Interface, Network, NodeDevice, StoragePool, StorageVol};
use oxvirt_xdr::{xdr_struct, CharArray, FixedChars, Uuid};

xdr_struct! {
    // --- connection, node, auth ---
    pub struct ConnectOpenArgs { pub name: Option<String>, pub flags: u32 }
    pub struct AuthListRet { pub types: Vec<i32> }
    pub struct SupportsFeatureArgs { pub feature: i32 }
    pub struct SupportsFeatureRet { pub supported: i32 }
    pub struct StringRet { pub value: String }
    pub struct OptStringRet { pub value: Option<String> }
    pub struct UHyperRet { pub value: u64 }
    pub struct IntRet { pub value: i32 }
    pub struct UIntRet { pub value: u32 }
    pub struct FlagsArgs { pub flags: u32 }
    pub struct GetMaxVcpusArgs { pub type_: Option<String> }
    pub struct NodeGetInfoRet {
        pub model: FixedChars<32>, pub memory: u64, pub cpus: i32, pub mhz: i32,
        pub nodes: i32, pub sockets: i32, pub cores: i32, pub threads: i32,
    }
    pub struct NodeGetCellsFreeMemoryArgs { pub start_cell: i32, pub maxcells: i32 }
    pub struct NodeGetCellsFreeMemoryRet { pub cells: Vec<u64> }
    pub struct NodeGetSecurityModelRet { pub model: CharArray, pub doi: CharArray }
    pub struct GetDomainCapabilitiesArgs {
        pub emulatorbin: Option<String>, pub arch: Option<String>, pub machine: Option<String>,
        pub virttype: Option<String>, pub flags: u32,
    }
    pub struct ListAllArgs { pub need_results: i32, pub flags: u32 }
    pub struct MaxNamesArgs { pub maxnames: i32 }
    pub struct NamesRet { pub names: Vec<String> }

    // --- domains ---
    pub struct DomainArgs { pub dom: Domain }
    pub struct DomainFlagsArgs { pub dom: Domain, pub flags: u32 }
    pub struct DomainRet { pub dom: Domain }
    pub struct LookupByIdArgs { pub id: i32 }
    pub struct LookupByNameArgs { pub name: String }
    pub struct LookupByUuidArgs { pub uuid: Uuid }
    pub struct ListAllDomainsRet { pub domains: Vec<Domain>, pub ret: u32 }
    pub struct ListDomainsArgs { pub maxids: i32 }
    pub struct ListDomainsRet { pub ids: Vec<i32> }
    pub struct XmlArgs { pub xml: String }
    pub struct XmlFlagsArgs { pub xml: String, pub flags: u32 }
    pub struct DomainGetInfoRet {
        pub state: u32, pub max_mem: u64, pub memory: u64, pub nr_virt_cpu: u32, pub cpu_time: u64,
    }
    pub struct DomainGetStateRet { pub state: i32, pub reason: i32 }
    pub struct DomainSetAutostartArgs { pub dom: Domain, pub autostart: i32 }
    pub struct DomainSetMemoryArgs { pub dom: Domain, pub memory: u64 }
    pub struct DomainSetMemoryFlagsArgs { pub dom: Domain, pub memory: u64, pub flags: u32 }
    pub struct DomainSetVcpusArgs { pub dom: Domain, pub nvcpus: u32 }
    pub struct DomainSetVcpusFlagsArgs { pub dom: Domain, pub nvcpus: u32, pub flags: u32 }
    pub struct DomainGetSecurityLabelRet { pub label: CharArray, pub enforcing: i32 }
    pub struct DomainGetVcpusArgs { pub dom: Domain, pub maxinfo: i32, pub maplen: i32 }
    pub struct VcpuInfo { pub number: u32, pub state: i32, pub cpu_time: u64, pub cpu: i32 }
    pub struct DomainGetVcpusRet { pub info: Vec<VcpuInfo>, pub cpumaps: oxvirt_xdr::Opaque }
    pub struct DomainEventCallbackRegisterAnyArgs { pub event_id: i32, pub dom: Option<Domain> }
    pub struct CallbackIdRet { pub callback_id: i32 }
    pub struct CallbackIdArgs { pub callback_id: i32 }
    pub struct EventIdArgs { pub event_id: i32 }
    pub struct CbRegisteredRet { pub cb_registered: i32 }
    pub struct DomainLifecycleMsg { pub dom: Domain, pub event: i32, pub detail: i32 }
    pub struct DomainCallbackLifecycleMsg { pub callback_id: i32, pub msg: DomainLifecycleMsg }
    pub struct DomainRebootMsg { pub dom: Domain }
    pub struct DomainCallbackRebootMsg { pub callback_id: i32, pub msg: DomainRebootMsg }
    pub struct ConnectionClosedMsg { pub reason: i32 }
    pub struct DomainGetMetadataArgs { pub dom: Domain, pub type_: i32, pub uri: Option<String>, pub flags: u32 }

    // --- networks ---
    pub struct NetworkArgs { pub net: Network }
    pub struct NetworkFlagsArgs { pub net: Network, pub flags: u32 }
    pub struct NetworkRet { pub net: Network }
    pub struct ListAllNetworksRet { pub nets: Vec<Network>, pub ret: u32 }
    pub struct NetworkSetAutostartArgs { pub net: Network, pub autostart: i32 }
    pub struct NetworkEventRegisterAnyArgs { pub event_id: i32, pub net: Option<Network> }
    pub struct NetworkLifecycleMsg { pub callback_id: i32, pub net: Network, pub event: i32, pub detail: i32 }

    // --- storage ---
    pub struct PoolArgs { pub pool: StoragePool }
    pub struct PoolFlagsArgs { pub pool: StoragePool, pub flags: u32 }
    pub struct PoolRet { pub pool: StoragePool }
    pub struct ListAllPoolsRet { pub pools: Vec<StoragePool>, pub ret: u32 }
    pub struct PoolSetAutostartArgs { pub pool: StoragePool, pub autostart: i32 }
    pub struct PoolGetInfoRet { pub state: u32, pub capacity: u64, pub allocation: u64, pub available: u64 }
    pub struct PoolListAllVolumesArgs { pub pool: StoragePool, pub need_results: i32, pub flags: u32 }
    pub struct ListAllVolumesRet { pub vols: Vec<StorageVol>, pub ret: u32 }
    pub struct PoolListVolumesArgs { pub pool: StoragePool, pub maxnames: i32 }
    pub struct PoolXmlFlagsArgs { pub pool: StoragePool, pub xml: String, pub flags: u32 }
    pub struct PoolXmlFromArgs { pub pool: StoragePool, pub xml: String, pub clonevol: StorageVol, pub flags: u32 }
    pub struct VolLookupByNameArgs { pub pool: StoragePool, pub name: String }
    pub struct VolArgs { pub vol: StorageVol }
    pub struct VolFlagsArgs { pub vol: StorageVol, pub flags: u32 }
    pub struct VolRet { pub vol: StorageVol }
    pub struct VolGetInfoRet { pub type_: i32, pub capacity: u64, pub allocation: u64 }
    pub struct VolResizeArgs { pub vol: StorageVol, pub capacity: u64, pub flags: u32 }
    pub struct PoolEventRegisterAnyArgs { pub event_id: i32, pub pool: Option<StoragePool> }
    pub struct PoolLifecycleMsg { pub callback_id: i32, pub pool: StoragePool, pub event: i32, pub detail: i32 }
    pub struct PoolRefreshMsg { pub callback_id: i32, pub pool: StoragePool }

    // --- interfaces and node devices ---
    pub struct InterfaceArgs { pub iface: Interface }
    pub struct InterfaceFlagsArgs { pub iface: Interface, pub flags: u32 }
    pub struct InterfaceRet { pub iface: Interface }
    pub struct ListAllInterfacesRet { pub ifaces: Vec<Interface>, pub ret: u32 }
    pub struct NodeDeviceRet { pub dev: NodeDevice }
    pub struct ListAllNodeDevicesRet { pub devices: Vec<NodeDevice>, pub ret: u32 }
    pub struct NodeDeviceNameArgs { pub name: String }
    pub struct NodeDeviceNameFlagsArgs { pub name: String, pub flags: u32 }
    pub struct NodeDeviceListCapsArgs { pub name: String, pub maxnames: i32 }
    pub struct NodeNumOfDevicesArgs { pub cap: Option<String>, pub flags: u32 }
    pub struct NodeListDevicesArgs { pub cap: Option<String>, pub maxnames: i32, pub flags: u32 }
    pub struct NodeDeviceEventRegisterAnyArgs { pub event_id: i32, pub dev: Option<NodeDevice> }
}

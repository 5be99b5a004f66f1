//! Domains: `virConnectListAllDomains` and friends, lookups, define/create/lifecycle calls,
//! info, state, XML, memory, vCPUs, autostart and metadata.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! use oxvirt_client::api::domain::{CONNECT_LIST_DOMAINS_ACTIVE, DOMAIN_XML_INACTIVE};
//! let conn = oxvirt_client::Connection::open(Some("test:///default"), false).await?;
//! let dom = conn
//!     .domain_define_xml("<domain type='test'><name>demo</name><memory>8192</memory>\
//!                         <os><type>hvm</type></os></domain>")
//!     .await?;
//! conn.domain_create(&dom).await?;
//! for d in conn.list_all_domains(CONNECT_LIST_DOMAINS_ACTIVE).await? {
//!     let (state, _) = conn.domain_get_state(&d, 0).await?;
//!     println!("{} {state}", d.name);
//! }
//! let xml = conn.domain_get_xml_desc(&dom, DOMAIN_XML_INACTIVE).await?;
//! conn.domain_destroy(&dom).await?;
//! conn.domain_undefine(&dom).await?;
//! # drop(xml); Ok(()) }
//! ```

use super::{list_all_args, max_names, truth, Uuid};
use crate::api::connect::c_chars;
use crate::connection::Connection;
use crate::error::ClientError;
use oxvirt_proto::remote::{self, limits, procs, Domain};
use std::fmt;

/// `virDomainInfo` as it travels on the wire: `state` is a [`DomainState`] number
/// (`DomainState::from_raw(info.state as i32)`), memory in KiB, CPU time in nanoseconds.
pub type DomainInfo = remote::DomainGetInfoRet;

/// `VIR_CONNECT_LIST_DOMAINS_ACTIVE`.
pub const CONNECT_LIST_DOMAINS_ACTIVE: u32 = 1 << 0;
/// `VIR_CONNECT_LIST_DOMAINS_INACTIVE`.
pub const CONNECT_LIST_DOMAINS_INACTIVE: u32 = 1 << 1;
/// `VIR_CONNECT_LIST_DOMAINS_PERSISTENT`.
pub const CONNECT_LIST_DOMAINS_PERSISTENT: u32 = 1 << 2;
/// `VIR_CONNECT_LIST_DOMAINS_TRANSIENT`.
pub const CONNECT_LIST_DOMAINS_TRANSIENT: u32 = 1 << 3;
/// `VIR_CONNECT_LIST_DOMAINS_RUNNING`.
pub const CONNECT_LIST_DOMAINS_RUNNING: u32 = 1 << 4;
/// `VIR_CONNECT_LIST_DOMAINS_PAUSED`.
pub const CONNECT_LIST_DOMAINS_PAUSED: u32 = 1 << 5;
/// `VIR_CONNECT_LIST_DOMAINS_SHUTOFF`.
pub const CONNECT_LIST_DOMAINS_SHUTOFF: u32 = 1 << 6;
/// `VIR_CONNECT_LIST_DOMAINS_OTHER`.
pub const CONNECT_LIST_DOMAINS_OTHER: u32 = 1 << 7;
/// `VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE`.
pub const CONNECT_LIST_DOMAINS_MANAGEDSAVE: u32 = 1 << 8;
/// `VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE`.
pub const CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE: u32 = 1 << 9;
/// `VIR_CONNECT_LIST_DOMAINS_AUTOSTART`.
pub const CONNECT_LIST_DOMAINS_AUTOSTART: u32 = 1 << 10;
/// `VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART`.
pub const CONNECT_LIST_DOMAINS_NO_AUTOSTART: u32 = 1 << 11;
/// `VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT`.
pub const CONNECT_LIST_DOMAINS_HAS_SNAPSHOT: u32 = 1 << 12;
/// `VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT`.
pub const CONNECT_LIST_DOMAINS_NO_SNAPSHOT: u32 = 1 << 13;

/// `VIR_DOMAIN_NONE`: no flags for create/start calls.
pub const DOMAIN_NONE: u32 = 0;
/// `VIR_DOMAIN_START_PAUSED`.
pub const DOMAIN_START_PAUSED: u32 = 1 << 0;
/// `VIR_DOMAIN_START_AUTODESTROY`.
pub const DOMAIN_START_AUTODESTROY: u32 = 1 << 1;
/// `VIR_DOMAIN_START_BYPASS_CACHE`.
pub const DOMAIN_START_BYPASS_CACHE: u32 = 1 << 2;
/// `VIR_DOMAIN_START_FORCE_BOOT`.
pub const DOMAIN_START_FORCE_BOOT: u32 = 1 << 3;
/// `VIR_DOMAIN_START_VALIDATE`.
pub const DOMAIN_START_VALIDATE: u32 = 1 << 4;
/// `VIR_DOMAIN_START_RESET_NVRAM`.
pub const DOMAIN_START_RESET_NVRAM: u32 = 1 << 5;

/// `VIR_DOMAIN_DEFINE_VALIDATE`.
pub const DOMAIN_DEFINE_VALIDATE: u32 = 1 << 0;

/// `VIR_DOMAIN_DESTROY_DEFAULT`.
pub const DOMAIN_DESTROY_DEFAULT: u32 = 0;
/// `VIR_DOMAIN_DESTROY_GRACEFUL`.
pub const DOMAIN_DESTROY_GRACEFUL: u32 = 1 << 0;
/// `VIR_DOMAIN_DESTROY_REMOVE_LOGS`.
pub const DOMAIN_DESTROY_REMOVE_LOGS: u32 = 1 << 1;

/// `VIR_DOMAIN_SHUTDOWN_DEFAULT`.
pub const DOMAIN_SHUTDOWN_DEFAULT: u32 = 0;
/// `VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN`.
pub const DOMAIN_SHUTDOWN_ACPI_POWER_BTN: u32 = 1 << 0;
/// `VIR_DOMAIN_SHUTDOWN_GUEST_AGENT`.
pub const DOMAIN_SHUTDOWN_GUEST_AGENT: u32 = 1 << 1;
/// `VIR_DOMAIN_SHUTDOWN_INITCTL`.
pub const DOMAIN_SHUTDOWN_INITCTL: u32 = 1 << 2;
/// `VIR_DOMAIN_SHUTDOWN_SIGNAL`.
pub const DOMAIN_SHUTDOWN_SIGNAL: u32 = 1 << 3;
/// `VIR_DOMAIN_SHUTDOWN_PARAVIRT`.
pub const DOMAIN_SHUTDOWN_PARAVIRT: u32 = 1 << 4;

/// `VIR_DOMAIN_REBOOT_DEFAULT`.
pub const DOMAIN_REBOOT_DEFAULT: u32 = 0;
/// `VIR_DOMAIN_REBOOT_ACPI_POWER_BTN`.
pub const DOMAIN_REBOOT_ACPI_POWER_BTN: u32 = 1 << 0;
/// `VIR_DOMAIN_REBOOT_GUEST_AGENT`.
pub const DOMAIN_REBOOT_GUEST_AGENT: u32 = 1 << 1;
/// `VIR_DOMAIN_REBOOT_INITCTL`.
pub const DOMAIN_REBOOT_INITCTL: u32 = 1 << 2;
/// `VIR_DOMAIN_REBOOT_SIGNAL`.
pub const DOMAIN_REBOOT_SIGNAL: u32 = 1 << 3;
/// `VIR_DOMAIN_REBOOT_PARAVIRT`.
pub const DOMAIN_REBOOT_PARAVIRT: u32 = 1 << 4;

/// `VIR_DOMAIN_UNDEFINE_MANAGED_SAVE`.
pub const DOMAIN_UNDEFINE_MANAGED_SAVE: u32 = 1 << 0;
/// `VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA`.
pub const DOMAIN_UNDEFINE_SNAPSHOTS_METADATA: u32 = 1 << 1;
/// `VIR_DOMAIN_UNDEFINE_NVRAM`.
pub const DOMAIN_UNDEFINE_NVRAM: u32 = 1 << 2;
/// `VIR_DOMAIN_UNDEFINE_KEEP_NVRAM`.
pub const DOMAIN_UNDEFINE_KEEP_NVRAM: u32 = 1 << 3;
/// `VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA`.
pub const DOMAIN_UNDEFINE_CHECKPOINTS_METADATA: u32 = 1 << 4;
/// `VIR_DOMAIN_UNDEFINE_TPM`.
pub const DOMAIN_UNDEFINE_TPM: u32 = 1 << 5;
/// `VIR_DOMAIN_UNDEFINE_KEEP_TPM`.
pub const DOMAIN_UNDEFINE_KEEP_TPM: u32 = 1 << 6;

/// `VIR_DOMAIN_XML_SECURE`.
pub const DOMAIN_XML_SECURE: u32 = 1 << 0;
/// `VIR_DOMAIN_XML_INACTIVE`.
pub const DOMAIN_XML_INACTIVE: u32 = 1 << 1;
/// `VIR_DOMAIN_XML_UPDATE_CPU`.
pub const DOMAIN_XML_UPDATE_CPU: u32 = 1 << 2;
/// `VIR_DOMAIN_XML_MIGRATABLE`.
pub const DOMAIN_XML_MIGRATABLE: u32 = 1 << 3;

/// `VIR_DOMAIN_AFFECT_CURRENT`.
pub const DOMAIN_AFFECT_CURRENT: u32 = 0;
/// `VIR_DOMAIN_AFFECT_LIVE`.
pub const DOMAIN_AFFECT_LIVE: u32 = 1 << 0;
/// `VIR_DOMAIN_AFFECT_CONFIG`.
pub const DOMAIN_AFFECT_CONFIG: u32 = 1 << 1;
/// `VIR_DOMAIN_MEM_MAXIMUM`.
pub const DOMAIN_MEM_MAXIMUM: u32 = 1 << 2;
/// `VIR_DOMAIN_VCPU_MAXIMUM`.
pub const DOMAIN_VCPU_MAXIMUM: u32 = 1 << 2;
/// `VIR_DOMAIN_VCPU_GUEST`.
pub const DOMAIN_VCPU_GUEST: u32 = 1 << 3;
/// `VIR_DOMAIN_VCPU_HOTPLUGGABLE`.
pub const DOMAIN_VCPU_HOTPLUGGABLE: u32 = 1 << 4;

/// `VIR_DOMAIN_MESSAGE_DEPRECATION`.
pub const DOMAIN_MESSAGE_DEPRECATION: u32 = 1 << 0;
/// `VIR_DOMAIN_MESSAGE_TAINTING`.
pub const DOMAIN_MESSAGE_TAINTING: u32 = 1 << 1;

/// `VIR_DOMAIN_METADATA_DESCRIPTION` (a metadata `type_`, not a flag).
pub const DOMAIN_METADATA_DESCRIPTION: i32 = 0;
/// `VIR_DOMAIN_METADATA_TITLE`.
pub const DOMAIN_METADATA_TITLE: i32 = 1;
/// `VIR_DOMAIN_METADATA_ELEMENT`.
pub const DOMAIN_METADATA_ELEMENT: i32 = 2;

/// `virDomainState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainState {
    /// `VIR_DOMAIN_NOSTATE` (0).
    NoState,
    /// `VIR_DOMAIN_RUNNING` (1).
    Running,
    /// `VIR_DOMAIN_BLOCKED` (2): blocked on a resource.
    Blocked,
    /// `VIR_DOMAIN_PAUSED` (3).
    Paused,
    /// `VIR_DOMAIN_SHUTDOWN` (4): being shut down.
    Shutdown,
    /// `VIR_DOMAIN_SHUTOFF` (5).
    Shutoff,
    /// `VIR_DOMAIN_CRASHED` (6).
    Crashed,
    /// `VIR_DOMAIN_PMSUSPENDED` (7).
    PmSuspended,
    /// A number this client does not know.
    Other(i32),
}

impl DomainState {
    /// From libvirt's number.
    pub fn from_raw(v: i32) -> Self {
        match v {
            0 => Self::NoState,
            1 => Self::Running,
            2 => Self::Blocked,
            3 => Self::Paused,
            4 => Self::Shutdown,
            5 => Self::Shutoff,
            6 => Self::Crashed,
            7 => Self::PmSuspended,
            n => Self::Other(n),
        }
    }

    /// libvirt's number.
    pub fn to_raw(self) -> i32 {
        match self {
            Self::NoState => 0,
            Self::Running => 1,
            Self::Blocked => 2,
            Self::Paused => 3,
            Self::Shutdown => 4,
            Self::Shutoff => 5,
            Self::Crashed => 6,
            Self::PmSuspended => 7,
            Self::Other(n) => n,
        }
    }
}

impl fmt::Display for DomainState {
    /// The words `virsh domstate` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoState | Self::Other(_) => "no state",
            Self::Running => "running",
            Self::Blocked => "idle",
            Self::Paused => "paused",
            Self::Shutdown => "in shutdown",
            Self::Shutoff => "shut off",
            Self::Crashed => "crashed",
            Self::PmSuspended => "pmsuspended",
        })
    }
}

/// `virSecurityLabel`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityLabel {
    /// The label (empty when the domain has none).
    pub label: String,
    /// Whether the security policy is enforced.
    pub enforcing: bool,
}

fn dom_args(dom: &Domain) -> remote::DomainArgs {
    remote::DomainArgs { dom: dom.clone() }
}

fn dom_flags(dom: &Domain, flags: u32) -> remote::DomainFlagsArgs {
    remote::DomainFlagsArgs {
        dom: dom.clone(),
        flags,
    }
}

impl Connection {
    /// `virConnectListAllDomains` (`flags`: `CONNECT_LIST_DOMAINS_*`).
    pub async fn list_all_domains(&self, flags: u32) -> Result<Vec<Domain>, ClientError> {
        let r: remote::ListAllDomainsRet = self
            .call(procs::CONNECT_LIST_ALL_DOMAINS, &list_all_args(flags))
            .await?;
        Ok(r.domains)
    }

    /// `virConnectListDomains`: the ids of the running domains.
    pub async fn list_domains(&self) -> Result<Vec<i32>, ClientError> {
        let r: remote::ListDomainsRet = self
            .call(
                procs::CONNECT_LIST_DOMAINS,
                &remote::ListDomainsArgs {
                    maxids: max_names(limits::DOMAIN_LIST_MAX),
                },
            )
            .await?;
        Ok(r.ids)
    }

    /// `virConnectNumOfDomains`: how many domains run.
    pub async fn num_of_domains(&self) -> Result<i32, ClientError> {
        let r: remote::IntRet = self.call(procs::CONNECT_NUM_OF_DOMAINS, &()).await?;
        Ok(r.value)
    }

    /// `virConnectListDefinedDomains`: the names of the inactive persistent domains.
    pub async fn list_defined_domains(&self) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::CONNECT_LIST_DEFINED_DOMAINS,
                &remote::MaxNamesArgs {
                    maxnames: max_names(limits::DOMAIN_LIST_MAX),
                },
            )
            .await?;
        Ok(r.names)
    }

    /// `virConnectNumOfDefinedDomains`.
    pub async fn num_of_defined_domains(&self) -> Result<i32, ClientError> {
        let r: remote::IntRet = self
            .call(procs::CONNECT_NUM_OF_DEFINED_DOMAINS, &())
            .await?;
        Ok(r.value)
    }

    /// `virDomainLookupByID`.
    pub async fn lookup_domain_by_id(&self, id: i32) -> Result<Domain, ClientError> {
        let r: remote::DomainRet = self
            .call(procs::DOMAIN_LOOKUP_BY_ID, &remote::LookupByIdArgs { id })
            .await?;
        Ok(r.dom)
    }

    /// `virDomainLookupByName`.
    pub async fn lookup_domain_by_name(&self, name: &str) -> Result<Domain, ClientError> {
        let r: remote::DomainRet = self
            .call(
                procs::DOMAIN_LOOKUP_BY_NAME,
                &remote::LookupByNameArgs { name: name.into() },
            )
            .await?;
        Ok(r.dom)
    }

    /// `virDomainLookupByUUID`.
    pub async fn lookup_domain_by_uuid(&self, uuid: &Uuid) -> Result<Domain, ClientError> {
        let r: remote::DomainRet = self
            .call(
                procs::DOMAIN_LOOKUP_BY_UUID,
                &remote::LookupByUuidArgs {
                    uuid: (*uuid).into(),
                },
            )
            .await?;
        Ok(r.dom)
    }

    /// `virDomainDefineXML`: defines (or redefines) a persistent domain.
    pub async fn domain_define_xml(&self, xml: &str) -> Result<Domain, ClientError> {
        let r: remote::DomainRet = self
            .call(
                procs::DOMAIN_DEFINE_XML,
                &remote::XmlArgs { xml: xml.into() },
            )
            .await?;
        Ok(r.dom)
    }

    /// `virDomainDefineXMLFlags` (`flags`: [`DOMAIN_DEFINE_VALIDATE`]).
    pub async fn domain_define_xml_flags(
        &self,
        xml: &str,
        flags: u32,
    ) -> Result<Domain, ClientError> {
        let r: remote::DomainRet = self
            .call(
                procs::DOMAIN_DEFINE_XML_FLAGS,
                &remote::XmlFlagsArgs {
                    xml: xml.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.dom)
    }

    /// `virDomainCreateXML`: starts a transient domain (`flags`: `DOMAIN_START_*`).
    pub async fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<Domain, ClientError> {
        let r: remote::DomainRet = self
            .call(
                procs::DOMAIN_CREATE_XML,
                &remote::XmlFlagsArgs {
                    xml: xml.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.dom)
    }

    /// `virDomainCreate`: starts a defined domain.
    pub async fn domain_create(&self, dom: &Domain) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_CREATE, &dom_args(dom)).await
    }

    /// `virDomainCreateWithFlags` (`flags`: `DOMAIN_START_*`); returns the domain with its
    /// new id.
    pub async fn domain_create_with_flags(
        &self,
        dom: &Domain,
        flags: u32,
    ) -> Result<Domain, ClientError> {
        let r: remote::DomainRet = self
            .call(procs::DOMAIN_CREATE_WITH_FLAGS, &dom_flags(dom, flags))
            .await?;
        Ok(r.dom)
    }

    /// `virDomainDestroy`: stops a domain at once.
    pub async fn domain_destroy(&self, dom: &Domain) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_DESTROY, &dom_args(dom)).await
    }

    /// `virDomainDestroyFlags` (`flags`: `DOMAIN_DESTROY_*`).
    pub async fn domain_destroy_flags(&self, dom: &Domain, flags: u32) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_DESTROY_FLAGS, &dom_flags(dom, flags))
            .await
    }

    /// `virDomainShutdown`: asks the guest to shut down.
    pub async fn domain_shutdown(&self, dom: &Domain) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_SHUTDOWN, &dom_args(dom)).await
    }

    /// `virDomainShutdownFlags` (`flags`: `DOMAIN_SHUTDOWN_*`).
    pub async fn domain_shutdown_flags(&self, dom: &Domain, flags: u32) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_SHUTDOWN_FLAGS, &dom_flags(dom, flags))
            .await
    }

    /// `virDomainReboot` (`flags`: `DOMAIN_REBOOT_*`).
    pub async fn domain_reboot(&self, dom: &Domain, flags: u32) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_REBOOT, &dom_flags(dom, flags))
            .await
    }

    /// `virDomainReset`: a hard reset (`flags` must be 0).
    pub async fn domain_reset(&self, dom: &Domain, flags: u32) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_RESET, &dom_flags(dom, flags)).await
    }

    /// `virDomainSuspend`: pauses a running domain.
    pub async fn domain_suspend(&self, dom: &Domain) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_SUSPEND, &dom_args(dom)).await
    }

    /// `virDomainResume`: resumes a paused domain.
    pub async fn domain_resume(&self, dom: &Domain) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_RESUME, &dom_args(dom)).await
    }

    /// `virDomainUndefine`: removes a persistent domain's configuration.
    pub async fn domain_undefine(&self, dom: &Domain) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_UNDEFINE, &dom_args(dom)).await
    }

    /// `virDomainUndefineFlags` (`flags`: `DOMAIN_UNDEFINE_*`).
    pub async fn domain_undefine_flags(&self, dom: &Domain, flags: u32) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_UNDEFINE_FLAGS, &dom_flags(dom, flags))
            .await
    }

    /// `virDomainGetInfo`.
    pub async fn domain_get_info(&self, dom: &Domain) -> Result<DomainInfo, ClientError> {
        self.call(procs::DOMAIN_GET_INFO, &dom_args(dom)).await
    }

    /// `virDomainGetState`: the state and its reason (a `VIR_DOMAIN_<STATE>_*` reason number).
    pub async fn domain_get_state(
        &self,
        dom: &Domain,
        flags: u32,
    ) -> Result<(DomainState, i32), ClientError> {
        let r: remote::DomainGetStateRet = self
            .call(procs::DOMAIN_GET_STATE, &dom_flags(dom, flags))
            .await?;
        Ok((DomainState::from_raw(r.state), r.reason))
    }

    /// `virDomainGetXMLDesc` (`flags`: `DOMAIN_XML_*`).
    pub async fn domain_get_xml_desc(
        &self,
        dom: &Domain,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(procs::DOMAIN_GET_XML_DESC, &dom_flags(dom, flags))
            .await?;
        Ok(r.value)
    }

    /// `virDomainGetOSType` (e.g. `hvm`, `linux`).
    pub async fn domain_get_os_type(&self, dom: &Domain) -> Result<String, ClientError> {
        let r: remote::StringRet = self.call(procs::DOMAIN_GET_OS_TYPE, &dom_args(dom)).await?;
        Ok(r.value)
    }

    /// `virDomainGetMaxMemory`, in KiB.
    pub async fn domain_get_max_memory(&self, dom: &Domain) -> Result<u64, ClientError> {
        let r: remote::UHyperRet = self
            .call(procs::DOMAIN_GET_MAX_MEMORY, &dom_args(dom))
            .await?;
        Ok(r.value)
    }

    /// `virDomainGetMaxVcpus`.
    pub async fn domain_get_max_vcpus(&self, dom: &Domain) -> Result<i32, ClientError> {
        let r: remote::IntRet = self
            .call(procs::DOMAIN_GET_MAX_VCPUS, &dom_args(dom))
            .await?;
        Ok(r.value)
    }

    /// `virDomainGetAutostart`.
    pub async fn domain_get_autostart(&self, dom: &Domain) -> Result<bool, ClientError> {
        let r: remote::IntRet = self
            .call(procs::DOMAIN_GET_AUTOSTART, &dom_args(dom))
            .await?;
        Ok(truth(r.value))
    }

    /// `virDomainSetAutostart`.
    pub async fn domain_set_autostart(
        &self,
        dom: &Domain,
        autostart: bool,
    ) -> Result<(), ClientError> {
        self.call(
            procs::DOMAIN_SET_AUTOSTART,
            &remote::DomainSetAutostartArgs {
                dom: dom.clone(),
                autostart: autostart.into(),
            },
        )
        .await
    }

    /// `virDomainIsActive`.
    pub async fn domain_is_active(&self, dom: &Domain) -> Result<bool, ClientError> {
        let r: remote::IntRet = self.call(procs::DOMAIN_IS_ACTIVE, &dom_args(dom)).await?;
        Ok(truth(r.value))
    }

    /// `virDomainIsPersistent`.
    pub async fn domain_is_persistent(&self, dom: &Domain) -> Result<bool, ClientError> {
        let r: remote::IntRet = self
            .call(procs::DOMAIN_IS_PERSISTENT, &dom_args(dom))
            .await?;
        Ok(truth(r.value))
    }

    /// `virDomainIsUpdated`: whether the running configuration differs from the persistent one.
    pub async fn domain_is_updated(&self, dom: &Domain) -> Result<bool, ClientError> {
        let r: remote::IntRet = self.call(procs::DOMAIN_IS_UPDATED, &dom_args(dom)).await?;
        Ok(truth(r.value))
    }

    /// `virDomainHasManagedSaveImage`.
    pub async fn domain_has_managed_save_image(
        &self,
        dom: &Domain,
        flags: u32,
    ) -> Result<bool, ClientError> {
        let r: remote::IntRet = self
            .call(procs::DOMAIN_HAS_MANAGED_SAVE_IMAGE, &dom_flags(dom, flags))
            .await?;
        Ok(truth(r.value))
    }

    /// `virDomainGetSecurityLabel`.
    pub async fn domain_get_security_label(
        &self,
        dom: &Domain,
    ) -> Result<SecurityLabel, ClientError> {
        let r: remote::DomainGetSecurityLabelRet = self
            .call(procs::DOMAIN_GET_SECURITY_LABEL, &dom_args(dom))
            .await?;
        Ok(SecurityLabel {
            label: c_chars(&r.label),
            enforcing: truth(r.enforcing),
        })
    }

    /// `virDomainGetMessages` (`flags`: `DOMAIN_MESSAGE_*`, 0 for all).
    pub async fn domain_get_messages(
        &self,
        dom: &Domain,
        flags: u32,
    ) -> Result<Vec<String>, ClientError> {
        let r: remote::DomainGetMessagesRet = self
            .call(procs::DOMAIN_GET_MESSAGES, &dom_flags(dom, flags))
            .await?;
        Ok(r.msgs)
    }

    /// `virDomainSetMemory`: the current memory in KiB.
    pub async fn domain_set_memory(&self, dom: &Domain, kib: u64) -> Result<(), ClientError> {
        self.call(
            procs::DOMAIN_SET_MEMORY,
            &remote::DomainSetMemoryArgs {
                dom: dom.clone(),
                memory: kib,
            },
        )
        .await
    }

    /// `virDomainSetMaxMemory`: the maximum memory in KiB.
    pub async fn domain_set_max_memory(&self, dom: &Domain, kib: u64) -> Result<(), ClientError> {
        self.call(
            procs::DOMAIN_SET_MAX_MEMORY,
            &remote::DomainSetMemoryArgs {
                dom: dom.clone(),
                memory: kib,
            },
        )
        .await
    }

    /// `virDomainSetMemoryFlags` (`flags`: `DOMAIN_AFFECT_*` | [`DOMAIN_MEM_MAXIMUM`]).
    pub async fn domain_set_memory_flags(
        &self,
        dom: &Domain,
        kib: u64,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(
            procs::DOMAIN_SET_MEMORY_FLAGS,
            &remote::DomainSetMemoryFlagsArgs {
                dom: dom.clone(),
                memory: kib,
                flags,
            },
        )
        .await
    }

    /// `virDomainSetVcpus`.
    pub async fn domain_set_vcpus(&self, dom: &Domain, nvcpus: u32) -> Result<(), ClientError> {
        self.call(
            procs::DOMAIN_SET_VCPUS,
            &remote::DomainSetVcpusArgs {
                dom: dom.clone(),
                nvcpus,
            },
        )
        .await
    }

    /// `virDomainSetVcpusFlags` (`flags`: `DOMAIN_AFFECT_*` | `DOMAIN_VCPU_*`).
    pub async fn domain_set_vcpus_flags(
        &self,
        dom: &Domain,
        nvcpus: u32,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(
            procs::DOMAIN_SET_VCPUS_FLAGS,
            &remote::DomainSetVcpusFlagsArgs {
                dom: dom.clone(),
                nvcpus,
                flags,
            },
        )
        .await
    }

    /// `virDomainGetVcpusFlags` (`flags`: `DOMAIN_AFFECT_*` | `DOMAIN_VCPU_*`).
    pub async fn domain_get_vcpus_flags(
        &self,
        dom: &Domain,
        flags: u32,
    ) -> Result<i32, ClientError> {
        let r: remote::IntRet = self
            .call(procs::DOMAIN_GET_VCPUS_FLAGS, &dom_flags(dom, flags))
            .await?;
        Ok(r.value)
    }

    /// `virDomainGetMetadata`: the title, description or the element in namespace `uri`
    /// (`type_`: `DOMAIN_METADATA_*`; `flags`: `DOMAIN_AFFECT_*`).
    pub async fn domain_get_metadata(
        &self,
        dom: &Domain,
        type_: i32,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(
                procs::DOMAIN_GET_METADATA,
                &remote::DomainGetMetadataArgs {
                    dom: dom.clone(),
                    type_,
                    uri: uri.map(Into::into),
                    flags,
                },
            )
            .await?;
        Ok(r.value)
    }

    /// `virDomainSetMetadata`: sets (or with `None` removes) the title, description or the
    /// element `key` in namespace `uri`.
    pub async fn domain_set_metadata(
        &self,
        dom: &Domain,
        type_: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(
            procs::DOMAIN_SET_METADATA,
            &remote::DomainSetMetadataArgs {
                dom: dom.clone(),
                type_,
                metadata: metadata.map(Into::into),
                key: key.map(Into::into),
                uri: uri.map(Into::into),
                flags,
            },
        )
        .await
    }
}

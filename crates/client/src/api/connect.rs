//! Connection and host calls: `virConnectGet*`, `virConnectIsSecure`, `virNode*`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! let conn = oxvirt_client::Connection::open(Some("test:///default"), true).await?;
//! let (ty, hv) = (conn.get_type().await?, conn.get_version().await?);
//! let node = conn.node_get_info().await?;
//! println!("{ty} {hv}: {} with {} CPUs, {} KiB", node.model, node.cpus, node.memory);
//! # Ok(()) }
//! ```

use crate::connection::Connection;
use crate::error::ClientError;
use oxvirt_proto::remote::{self, limits, procs};
use oxvirt_xdr::CharArray;

/// `virNodeInfo`: what `virsh nodeinfo` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// CPU model (e.g. `i686`, `x86_64`).
    pub model: String,
    /// Memory size in KiB.
    pub memory: u64,
    /// Number of active CPUs.
    pub cpus: i32,
    /// Expected CPU frequency in MHz (0 if unknown).
    pub mhz: i32,
    /// NUMA cells (1 for a uniform memory access host).
    pub nodes: i32,
    /// CPU sockets per node.
    pub sockets: i32,
    /// Cores per socket.
    pub cores: i32,
    /// Threads per core.
    pub threads: i32,
}

/// `virSecurityModel`: the host's security driver (empty strings when there is none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityModel {
    /// Security model name (e.g. `selinux`, `apparmor`, or empty).
    pub model: String,
    /// Domain of interpretation.
    pub doi: String,
}

/// A C string sent as `char<>`: the bytes up to the first NUL.
pub(crate) fn c_chars(a: &CharArray) -> String {
    let end = a.0.iter().position(|&b| b == 0).unwrap_or(a.0.len());
    String::from_utf8_lossy(&a.0[..end]).into_owned()
}

impl Connection {
    /// `virConnectGetHostname`: the host name of the daemon's machine.
    pub async fn get_hostname(&self) -> Result<String, ClientError> {
        let r: remote::StringRet = self.call(procs::CONNECT_GET_HOSTNAME, &()).await?;
        Ok(r.value)
    }

    /// `virConnectGetLibVersion` (major × 1,000,000 + minor × 1,000 + release).
    pub async fn get_lib_version(&self) -> Result<u64, ClientError> {
        let r: remote::UHyperRet = self.call(procs::CONNECT_GET_LIB_VERSION, &()).await?;
        Ok(r.value)
    }

    /// `virConnectGetType`: the hypervisor driver's name (`Test`, `QEMU`, ...).
    pub async fn get_type(&self) -> Result<String, ClientError> {
        let r: remote::StringRet = self.call(procs::CONNECT_GET_TYPE, &()).await?;
        Ok(r.value)
    }

    /// `virConnectGetVersion`: the hypervisor version (major × 1,000,000 + minor × 1,000 +
    /// release).
    pub async fn get_version(&self) -> Result<u64, ClientError> {
        let r: remote::UHyperRet = self.call(procs::CONNECT_GET_VERSION, &()).await?;
        Ok(r.value)
    }

    /// `virConnectGetURI`: the canonical URI of the driver the daemon opened.
    pub async fn get_uri(&self) -> Result<String, ClientError> {
        let r: remote::StringRet = self.call(procs::CONNECT_GET_URI, &()).await?;
        Ok(r.value)
    }

    /// `virConnectGetCapabilities`: the capabilities XML.
    pub async fn get_capabilities(&self) -> Result<String, ClientError> {
        let r: remote::StringRet = self.call(procs::CONNECT_GET_CAPABILITIES, &()).await?;
        Ok(r.value)
    }

    /// `virConnectGetDomainCapabilities`: the domain capabilities XML for an emulator, arch,
    /// machine and virtualization type (each `None` for the driver's default).
    pub async fn get_domain_capabilities(
        &self,
        emulatorbin: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(
                procs::CONNECT_GET_DOMAIN_CAPABILITIES,
                &remote::GetDomainCapabilitiesArgs {
                    emulatorbin: emulatorbin.map(Into::into),
                    arch: arch.map(Into::into),
                    machine: machine.map(Into::into),
                    virttype: virttype.map(Into::into),
                    flags,
                },
            )
            .await?;
        Ok(r.value)
    }

    /// `virConnectGetSysinfo`: the host's sysinfo XML.
    pub async fn get_sysinfo(&self, flags: u32) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(procs::CONNECT_GET_SYSINFO, &remote::FlagsArgs { flags })
            .await?;
        Ok(r.value)
    }

    /// `virConnectGetMaxVcpus`: the most vCPUs a guest of `type_` (e.g. `kvm`; `None` for the
    /// driver's default) may have.
    pub async fn get_max_vcpus(&self, type_: Option<&str>) -> Result<i32, ClientError> {
        let r: remote::IntRet = self
            .call(
                procs::CONNECT_GET_MAX_VCPUS,
                &remote::GetMaxVcpusArgs {
                    type_: type_.map(Into::into),
                },
            )
            .await?;
        Ok(r.value)
    }

    /// `virConnectIsSecure`: whether the channel is encrypted or local (the daemon's answer).
    pub async fn is_secure(&self) -> Result<bool, ClientError> {
        let r: remote::IntRet = self.call(procs::CONNECT_IS_SECURE, &()).await?;
        Ok(super::truth(r.value))
    }

    /// `virNodeGetInfo`.
    pub async fn node_get_info(&self) -> Result<NodeInfo, ClientError> {
        let r: remote::NodeGetInfoRet = self.call(procs::NODE_GET_INFO, &()).await?;
        Ok(NodeInfo {
            model: r.model.0,
            memory: r.memory,
            cpus: r.cpus,
            mhz: r.mhz,
            nodes: r.nodes,
            sockets: r.sockets,
            cores: r.cores,
            threads: r.threads,
        })
    }

    /// `virNodeGetFreeMemory`: free memory in bytes.
    pub async fn node_get_free_memory(&self) -> Result<u64, ClientError> {
        let r: remote::UHyperRet = self.call(procs::NODE_GET_FREE_MEMORY, &()).await?;
        Ok(r.value)
    }

    /// `virNodeGetCellsFreeMemory`: free memory in bytes of up to `max_cells` NUMA cells from
    /// `start_cell` on (at most 1024, the protocol's limit).
    pub async fn node_get_cells_free_memory(
        &self,
        start_cell: i32,
        max_cells: i32,
    ) -> Result<Vec<u64>, ClientError> {
        if max_cells < 0 || max_cells as usize > limits::NODE_MAX_CELLS {
            return Err(ClientError::Config(format!(
                "too many NUMA cells: {max_cells} > {}",
                limits::NODE_MAX_CELLS
            )));
        }
        let r: remote::NodeGetCellsFreeMemoryRet = self
            .call(
                procs::NODE_GET_CELLS_FREE_MEMORY,
                &remote::NodeGetCellsFreeMemoryArgs {
                    start_cell,
                    maxcells: max_cells,
                },
            )
            .await?;
        Ok(r.cells)
    }

    /// `virNodeGetSecurityModel`.
    pub async fn node_get_security_model(&self) -> Result<SecurityModel, ClientError> {
        let r: remote::NodeGetSecurityModelRet =
            self.call(procs::NODE_GET_SECURITY_MODEL, &()).await?;
        Ok(SecurityModel {
            model: c_chars(&r.model),
            doi: c_chars(&r.doi),
        })
    }
}

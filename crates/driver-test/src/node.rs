//! Host-level facts of the test driver: node info, NUMA cells, capabilities, sysinfo, security
//! model, as libvirt 9.0's test driver reports them.

use crate::error::{DriverError, DriverResult};
use crate::state::TestState;
use oxvirt_virerror::ErrorDomain;

/// `virNodeInfo` (memory in KiB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub model: String,
    pub memory_kib: u64,
    pub cpus: u32,
    pub mhz: u32,
    pub nodes: u32,
    pub sockets: u32,
    pub cores: u32,
    pub threads: u32,
}

impl Default for NodeInfo {
    /// The test driver's default host: 16 CPUs at 1400 MHz, 2 NUMA nodes, 3 GiB.
    fn default() -> Self {
        NodeInfo {
            model: "i686".into(),
            memory_kib: 3145728,
            cpus: 16,
            mhz: 1400,
            nodes: 2,
            sockets: 2,
            cores: 2,
            threads: 2,
        }
    }
}

/// One NUMA cell: total and free memory in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub mem_kib: u64,
    pub free_kib: u64,
}

/// The default host's two cells.
pub fn default_cells() -> Vec<Cell> {
    (1..=2u64)
        .map(|i| Cell {
            mem_kib: i * 2048 * 1024,
            free_kib: i * 1024 * 1024,
        })
        .collect()
}

/// The hypervisor version the test driver reports (2, i.e. "0.0.2").
pub const HV_VERSION: u64 = 2;

/// `virConnectGetSysinfo` output of the test driver.
pub const SYSINFO_XML: &str = "<sysinfo type='smbios'>
  <bios>
    <entry name='vendor'>LENOVO</entry>
    <entry name='version'>G4ETA1WW (2.61 )</entry>
    <entry name='date'>05/07/2014</entry>
    <entry name='release'>2.61</entry>
  </bios>
</sysinfo>
";

/// The CPU model names reported for x86 architectures (`virConnectGetCPUModelNames`).
pub const X86_CPU_MODELS: &[&str] = &[
    "486",
    "pentium",
    "pentium2",
    "pentium3",
    "pentiumpro",
    "coreduo",
    "n270",
    "core2duo",
    "qemu32",
    "kvm32",
    "cpu64-rhel5",
    "cpu64-rhel6",
    "qemu64",
    "kvm64",
    "Conroe",
    "Penryn",
    "Nehalem",
    "Nehalem-IBRS",
    "Westmere",
    "Westmere-IBRS",
    "SandyBridge",
    "SandyBridge-IBRS",
    "IvyBridge",
    "IvyBridge-IBRS",
    "Haswell-noTSX",
    "Haswell-noTSX-IBRS",
    "Haswell",
    "Haswell-IBRS",
    "Broadwell-noTSX",
    "Broadwell-noTSX-IBRS",
    "Broadwell",
    "Broadwell-IBRS",
    "Skylake-Client",
    "Skylake-Client-IBRS",
    "Skylake-Client-noTSX-IBRS",
    "Skylake-Server",
    "Skylake-Server-IBRS",
    "Skylake-Server-noTSX-IBRS",
    "Cascadelake-Server",
    "Cascadelake-Server-noTSX",
    "Icelake-Client",
    "Icelake-Client-noTSX",
    "Icelake-Server",
    "Icelake-Server-noTSX",
    "Cooperlake",
    "Snowridge",
    "athlon",
    "phenom",
    "Opteron_G1",
    "Opteron_G2",
    "Opteron_G3",
    "Opteron_G4",
    "Opteron_G5",
    "EPYC",
    "EPYC-IBPB",
    "EPYC-Rome",
    "EPYC-Milan",
    "Dhyana",
];

const CAPS_HEAD: &str = "<capabilities>

  <host>
    <cpu>
      <arch>i686</arch>
      <features>
        <pae/>
        <nonpae/>
      </features>
      <pages unit='KiB' size='4'/>
      <pages unit='KiB' size='8'/>
      <pages unit='KiB' size='2048'/>
      <pages unit='KiB' size='1048576'/>
    </cpu>
    <power_management/>
    <iommu support='no'/>
    <topology>
";

const CAPS_TAIL: &str = "    </topology>
    <secmodel>
      <model>testSecurity</model>
      <doi></doi>
    </secmodel>
  </host>

  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'>
      <wordsize>32</wordsize>
      <emulator>/usr/bin/test-hv</emulator>
      <domain type='test'/>
    </arch>
    <features>
      <pae/>
      <nonpae/>
    </features>
  </guest>

  <guest>
    <os_type>xen</os_type>
    <arch name='i686'>
      <wordsize>32</wordsize>
      <emulator>/usr/bin/test-hv</emulator>
      <domain type='test'/>
    </arch>
    <features>
      <pae/>
      <nonpae/>
    </features>
  </guest>

</capabilities>
";

fn cells_xml(cells: &[Cell]) -> String {
    let mut s = format!("      <cells num='{}'>\n", cells.len());
    for (i, c) in cells.iter().enumerate() {
        // The default host: cell i has 8 CPUs on socket i and one page size of its own.
        let page = if i % 2 == 0 { 4 } else { 8 };
        s.push_str(&format!("        <cell id='{i}'>\n"));
        s.push_str(&format!(
            "          <memory unit='KiB'>{}</memory>\n",
            c.mem_kib
        ));
        s.push_str(&format!(
            "          <pages unit='KiB' size='{page}'>{}</pages>\n",
            c.mem_kib / page
        ));
        s.push_str("          <pages unit='KiB' size='2048'>0</pages>\n");
        s.push_str("          <pages unit='KiB' size='1048576'>0</pages>\n");
        s.push_str("          <cpus num='8'>\n");
        for core in 0..8 {
            let id = i * 8 + core;
            s.push_str(&format!(
                "            <cpu id='{id}' socket_id='{i}' die_id='0' core_id='{core}' siblings='{id}'/>\n"
            ));
        }
        s.push_str("          </cpus>\n        </cell>\n");
    }
    s.push_str("      </cells>\n");
    s
}

/// The host's name as `virConnectGetHostname` reports it (the machine's host name).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

impl TestState {
    /// `virConnectGetType`.
    pub fn get_type(&self) -> &'static str {
        "TEST"
    }

    /// `virConnectGetVersion`: 2.
    pub fn get_version(&self) -> u64 {
        HV_VERSION
    }

    /// `virConnectGetHostname`.
    pub fn get_hostname(&self) -> String {
        host_name()
    }

    /// `virConnectGetCapabilities`.
    pub fn capabilities(&self) -> String {
        format!("{CAPS_HEAD}{}{CAPS_TAIL}", cells_xml(&self.cells))
    }

    /// `virConnectGetSysinfo` (flags must be 0).
    pub fn sysinfo(&self, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "testConnectGetSysinfo")?;
        Ok(SYSINFO_XML.to_string())
    }

    /// `virNodeGetInfo`.
    pub fn node_info(&self) -> NodeInfo {
        self.node.clone()
    }

    /// `virConnectGetMaxVcpus`: 32 whatever the type.
    pub fn max_vcpus(&self, _type: Option<&str>) -> u32 {
        crate::domain_xml::TEST_MAX_VCPUS
    }

    /// `virNodeGetFreeMemory`: the cells' free memory summed, in KiB as the test driver reports it
    /// (3145728 for the default host), as libvirt 9.0 does.
    pub fn free_memory(&self) -> u64 {
        self.cells.iter().map(|c| c.free_kib).sum()
    }

    /// `virNodeGetCellsFreeMemory`: the test driver returns each cell's total memory (KiB)
    /// from `start`, at most `max` cells.
    pub fn cells_free_memory(&self, start: i32, max: i32) -> DriverResult<Vec<u64>> {
        if start < 0 || start as usize >= self.cells.len() {
            return Err(DriverError::InvalidArg(
                ErrorDomain::Test,
                "Range exceeds available cells".into(),
            ));
        }
        let n = usize::try_from(max).unwrap_or(0);
        Ok(self.cells[start as usize..]
            .iter()
            .take(n)
            .map(|c| c.mem_kib)
            .collect())
    }

    /// `virNodeGetSecurityModel`: (model, doi).
    pub fn security_model(&self) -> (String, String) {
        ("testSecurity".into(), String::new())
    }

    /// `virConnectGetCPUModelNames` for `arch`.
    pub fn cpu_model_names(&self, _arch: &str) -> Vec<String> {
        X86_CPU_MODELS.iter().map(|s| s.to_string()).collect()
    }
}

pub use crate::error::check_flags;

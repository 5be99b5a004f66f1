//! Domain memory and vCPU settings (`virDomainSetMemoryFlags`, `virDomainSetVcpusFlags`,
//! `virDomainGetVcpusFlags`) with the test driver's live/config semantics.

use oxvirt_virerror::ErrorDomain;

use crate::domain::Domain;
use crate::domain_ops::{AFFECT_CONFIG, AFFECT_LIVE, MAXIMUM};
use crate::domain_xml::{DomainDef, TEST_MAX_VCPUS};
use crate::error::{DriverError, DriverResult};
use crate::node::check_flags;
use crate::refs::DomainKey;
use crate::state::TestState;
use crate::xmlfmt::raw_error;

fn not_running() -> DriverError {
    DriverError::OperationInvalid(ErrorDomain::Domain, "domain is not running".into())
}

fn exclusive_live_config() -> DriverError {
    raw_error(
        8,
        ErrorDomain::Domain as i32,
        "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
    )
}

/// libvirt's virDomainObjGetDefs: which definitions (live, config) `flags` address.
fn targets(d: &Domain, flags: u32) -> DriverResult<(bool, bool)> {
    let (mut live, mut config) = (flags & AFFECT_LIVE != 0, flags & AFFECT_CONFIG != 0);
    if !live && !config {
        live = d.is_active();
        config = !live;
    }
    if live && !d.is_active() {
        return Err(not_running());
    }
    if config && !d.persistent {
        return Err(DriverError::OperationInvalid(
            ErrorDomain::Domain,
            "transient domains do not have any persistent config".into(),
        ));
    }
    Ok((live, config))
}

/// The persistent definition (`newDef` while running).
fn config_mut(d: &mut Domain) -> &mut DomainDef {
    if d.is_active() {
        d.new_def.get_or_insert_with(|| d.def.clone())
    } else {
        &mut d.def
    }
}

impl TestState {
    /// `virDomainSetMemoryFlags` (LIVE, CONFIG, MAXIMUM; KiB).
    pub fn set_memory_flags(&mut self, r: DomainKey<'_>, kib: u64, flags: u32) -> DriverResult<()> {
        check_flags(
            flags,
            AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM,
            "testDomainSetMemoryFlags",
        )?;
        if flags & AFFECT_LIVE != 0 && flags & AFFECT_CONFIG != 0 {
            return Err(exclusive_live_config());
        }
        let d = self.domains.get_mut(r)?;
        let (live, _) = targets(d, flags)?;
        if flags & MAXIMUM != 0 {
            if live {
                return Err(DriverError::OperationInvalid(
                    ErrorDomain::Test,
                    "cannot resize the maximum memory on an active domain".into(),
                ));
            }
            let def = config_mut(d);
            def.max_mem_kib = kib;
            def.cur_mem_kib = def.cur_mem_kib.min(kib);
            return Ok(());
        }
        let def = if live { &mut d.def } else { config_mut(d) };
        if kib > def.max_mem_kib {
            return Err(DriverError::InvalidArg(
                ErrorDomain::Test,
                "cannot set memory higher than max memory".into(),
            ));
        }
        def.cur_mem_kib = kib;
        Ok(())
    }

    /// `virDomainSetMemory`: the live balloon.
    pub fn set_memory(&mut self, r: DomainKey<'_>, kib: u64) -> DriverResult<()> {
        self.set_memory_flags(r, kib, AFFECT_LIVE)
    }

    /// `virDomainSetMaxMemory`: the configured maximum (refused while active).
    pub fn set_max_memory(&mut self, r: DomainKey<'_>, kib: u64) -> DriverResult<()> {
        self.set_memory_flags(r, kib, MAXIMUM)
    }

    /// `virDomainSetVcpusFlags` (LIVE, CONFIG, MAXIMUM).
    pub fn set_vcpus_flags(&mut self, r: DomainKey<'_>, n: u32, flags: u32) -> DriverResult<()> {
        self.set_vcpus_impl(r, n, flags, "virDomainSetVcpusFlags")
    }

    /// `virDomainSetVcpus`: the live count.
    pub fn set_vcpus(&mut self, r: DomainKey<'_>, n: u32) -> DriverResult<()> {
        self.set_vcpus_impl(r, n, AFFECT_LIVE, "virDomainSetVcpus")
    }

    fn set_vcpus_impl(
        &mut self,
        r: DomainKey<'_>,
        n: u32,
        flags: u32,
        api: &str,
    ) -> DriverResult<()> {
        check_flags(
            flags,
            AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM,
            "testDomainSetVcpusFlags",
        )?;
        if n == 0 {
            return Err(raw_error(
                8,
                ErrorDomain::Domain as i32,
                format!("nvcpus in {api} must not be zero"),
            ));
        }
        if flags & MAXIMUM != 0 && flags & AFFECT_CONFIG == 0 {
            return Err(raw_error(
                8,
                ErrorDomain::Domain as i32,
                "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'",
            ));
        }
        let d = self.domains.get_mut(r)?;
        let (live, config) = targets(d, flags)?;
        if n > TEST_MAX_VCPUS {
            return Err(DriverError::InvalidArg(
                ErrorDomain::Test,
                format!(
                    "requested cpu amount exceeds maximum supported amount ({n} > {TEST_MAX_VCPUS})"
                ),
            ));
        }
        let too_many = |max: u32| {
            DriverError::InvalidArg(
                ErrorDomain::Test,
                format!("requested cpu amount exceeds maximum ({n} > {max})"),
            )
        };
        if flags & MAXIMUM == 0 {
            if live && d.def.vcpus_max < n {
                return Err(too_many(d.def.vcpus_max));
            }
            if config && config_mut(d).vcpus_max < n {
                return Err(too_many(config_mut(d).vcpus_max));
            }
        }
        if live {
            d.def.vcpus_cur = n;
        }
        if config {
            let c = config_mut(d);
            if flags & MAXIMUM != 0 {
                c.vcpus_max = n;
                c.vcpus_cur = c.vcpus_cur.min(n);
            } else {
                c.vcpus_cur = n;
            }
        }
        Ok(())
    }

    /// `virDomainGetVcpusFlags` (LIVE, CONFIG, MAXIMUM).
    pub fn get_vcpus_flags(&self, r: DomainKey<'_>, flags: u32) -> DriverResult<u32> {
        check_flags(
            flags,
            AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM,
            "testDomainGetVcpusFlags",
        )?;
        if flags & AFFECT_LIVE != 0 && flags & AFFECT_CONFIG != 0 {
            return Err(exclusive_live_config());
        }
        let d = self.domains.get(r)?;
        let (live, _) = targets(d, flags)?;
        let def = if live { &d.def } else { d.config() };
        Ok(if flags & MAXIMUM != 0 {
            def.vcpus_max
        } else {
            def.vcpus_cur
        })
    }

    /// `virDomainGetMaxVcpus`: the live maximum (refused while inactive).
    pub fn get_max_vcpus(&self, r: DomainKey<'_>) -> DriverResult<u32> {
        self.get_vcpus_flags(r, AFFECT_LIVE | MAXIMUM)
    }
}

#[cfg(test)]
#[path = "domain_res_tests.rs"]
mod tests;

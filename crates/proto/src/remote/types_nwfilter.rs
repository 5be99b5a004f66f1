//! Argument and return structs of the network filter procedures (`REMOTE_PROC_NWFILTER_*`,
//! `CONNECT_LIST_ALL_NWFILTERS`, the binding procedures), in libvirt's field order.

use super::objects::NwFilter;
use oxvirt_xdr::xdr_struct;

xdr_struct! {
    /// `remote_nonnull_nwfilter_binding`: the port device and the filter bound to it.
    pub struct NwFilterBinding { pub portdev: String, pub filtername: String }
    /// `{nwfilter nwfilter}`: NWFILTER_UNDEFINE.
    pub struct NwFilterArgs { pub nwfilter: NwFilter }
    /// `{nwfilter nwfilter, uint flags}`: NWFILTER_GET_XML_DESC.
    pub struct NwFilterFlagsArgs { pub nwfilter: NwFilter, pub flags: u32 }
    /// `{nwfilter nwfilter}`: the reply of lookups and defines.
    pub struct NwFilterRet { pub nwfilter: NwFilter }
    /// CONNECT_LIST_ALL_NWFILTERS reply.
    pub struct ListAllNwFiltersRet { pub filters: Vec<NwFilter>, pub ret: u32 }
    /// `{binding nwfilter}`: NWFILTER_BINDING_DELETE, and the reply of binding lookups/creates.
    pub struct NwFilterBindingArgs { pub nwfilter: NwFilterBinding }
    /// `{binding nwfilter, uint flags}`: NWFILTER_BINDING_GET_XML_DESC.
    pub struct NwFilterBindingFlagsArgs { pub nwfilter: NwFilterBinding, pub flags: u32 }
    /// CONNECT_LIST_ALL_NWFILTER_BINDINGS reply.
    pub struct ListAllNwFilterBindingsRet { pub bindings: Vec<NwFilterBinding>, pub ret: u32 }
}

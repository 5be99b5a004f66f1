//! Storage pool and volume procedures.

use super::convert::{list_all, max_names, pool, vol, vol_ref};
use super::session::Session;
use crate::dispatch::call;
use oxvirt_driver_test::DriverError;
use oxvirt_proto::remote::{self as r, limits, procs as p};
use oxvirt_proto::Header;
use oxvirt_rpc::program::Reply;
use std::sync::Arc;

/// Storage procedures; None if `h` is not one.
pub fn handle(sess: &Arc<Session>, h: &Header, body: &[u8]) -> Option<Reply> {
    let conn = &sess.conn;
    let v = |e: DriverError| e.to_vir();
    let pool_ret = |p: oxvirt_driver_test::PoolRef| r::PoolRet { pool: pool(p) };
    let vol_ret = |x: oxvirt_driver_test::VolRef| r::VolRet { vol: vol(x) };
    Some(match h.proc_ {
        p::CONNECT_LIST_ALL_STORAGE_POOLS => call(h, body, |a: r::ListAllArgs| {
            let all = conn.lock().pools.list_all(a.flags).map_err(v)?;
            let (pools, ret) = list_all(a.need_results, all.into_iter().map(pool).collect());
            Ok(r::ListAllPoolsRet { pools, ret })
        }),
        p::CONNECT_NUM_OF_STORAGE_POOLS => call(h, body, |_: ()| {
            Ok(r::IntRet {
                value: conn.lock().pools.num_of_active() as i32,
            })
        }),
        p::CONNECT_NUM_OF_DEFINED_STORAGE_POOLS => call(h, body, |_: ()| {
            Ok(r::IntRet {
                value: conn.lock().pools.num_of_defined() as i32,
            })
        }),
        p::CONNECT_LIST_STORAGE_POOLS => call(h, body, |a: r::MaxNamesArgs| {
            let max = max_names(
                a.maxnames,
                limits::STORAGE_POOL_LIST_MAX,
                "REMOTE_STORAGE_POOL_LIST_MAX",
            )?;
            Ok(r::NamesRet {
                names: conn.lock().pools.list_active(max),
            })
        }),
        p::CONNECT_LIST_DEFINED_STORAGE_POOLS => call(h, body, |a: r::MaxNamesArgs| {
            let max = max_names(
                a.maxnames,
                limits::STORAGE_POOL_LIST_MAX,
                "REMOTE_STORAGE_POOL_LIST_MAX",
            )?;
            Ok(r::NamesRet {
                names: conn.lock().pools.list_defined(max),
            })
        }),
        p::STORAGE_POOL_LOOKUP_BY_NAME => call(h, body, |a: r::LookupByNameArgs| {
            conn.lock()
                .pools
                .lookup_by_name(&a.name)
                .map(pool_ret)
                .map_err(v)
        }),
        p::STORAGE_POOL_LOOKUP_BY_UUID => call(h, body, |a: r::LookupByUuidArgs| {
            conn.lock()
                .pools
                .lookup_by_uuid(&a.uuid.0)
                .map(pool_ret)
                .map_err(v)
        }),
        p::STORAGE_POOL_LOOKUP_BY_VOLUME => call(h, body, |a: r::VolArgs| {
            conn.lock()
                .pools
                .lookup_by_volume(&vol_ref(&a.vol))
                .map(pool_ret)
                .map_err(v)
        }),
        p::STORAGE_POOL_DEFINE_XML => call(h, body, |a: r::XmlFlagsArgs| {
            let st = &mut *conn.lock();
            st.pools
                .define_xml(&a.xml, a.flags, &st.events)
                .map(pool_ret)
                .map_err(v)
        }),
        p::STORAGE_POOL_CREATE_XML => call(h, body, |a: r::XmlFlagsArgs| {
            let st = &mut *conn.lock();
            st.pools
                .create_xml(&a.xml, a.flags, &st.events)
                .map(pool_ret)
                .map_err(v)
        }),
        p::STORAGE_POOL_CREATE => call(h, body, |a: r::PoolFlagsArgs| {
            let st = &mut *conn.lock();
            st.pools
                .create(&a.pool.name, a.flags, &st.events)
                .map_err(v)
        }),
        p::STORAGE_POOL_BUILD => call(h, body, |a: r::PoolFlagsArgs| {
            let st = &mut *conn.lock();
            st.pools.build(&a.pool.name, a.flags, &st.events).map_err(v)
        }),
        p::STORAGE_POOL_DELETE => call(h, body, |a: r::PoolFlagsArgs| {
            let st = &mut *conn.lock();
            st.pools
                .delete(&a.pool.name, a.flags, &st.events)
                .map_err(v)
        }),
        p::STORAGE_POOL_REFRESH => call(h, body, |a: r::PoolFlagsArgs| {
            let st = &mut *conn.lock();
            st.pools
                .refresh(&a.pool.name, a.flags, &st.events)
                .map_err(v)
        }),
        p::STORAGE_POOL_DESTROY => call(h, body, |a: r::PoolArgs| {
            let st = &mut *conn.lock();
            st.pools.destroy(&a.pool.name, &st.events).map_err(v)
        }),
        p::STORAGE_POOL_UNDEFINE => call(h, body, |a: r::PoolArgs| {
            let st = &mut *conn.lock();
            st.pools.undefine(&a.pool.name, &st.events).map_err(v)
        }),
        p::STORAGE_POOL_GET_INFO => call(h, body, |a: r::PoolArgs| {
            let i = conn.lock().pools.get_info(&a.pool.name).map_err(v)?;
            Ok(r::PoolGetInfoRet {
                state: i.state as u32,
                capacity: i.capacity,
                allocation: i.allocation,
                available: i.available,
            })
        }),
        p::STORAGE_POOL_GET_XML_DESC => call(h, body, |a: r::PoolFlagsArgs| {
            conn.lock()
                .pools
                .get_xml_desc(&a.pool.name, a.flags)
                .map(|value| r::StringRet { value })
                .map_err(v)
        }),
        p::STORAGE_POOL_GET_AUTOSTART => call(h, body, |a: r::PoolArgs| {
            conn.lock()
                .pools
                .get_autostart(&a.pool.name)
                .map(|b| r::IntRet { value: b as i32 })
                .map_err(v)
        }),
        p::STORAGE_POOL_SET_AUTOSTART => call(h, body, |a: r::PoolSetAutostartArgs| {
            conn.lock()
                .pools
                .set_autostart(&a.pool.name, a.autostart != 0)
                .map_err(v)
        }),
        p::STORAGE_POOL_IS_ACTIVE => call(h, body, |a: r::PoolArgs| {
            conn.lock()
                .pools
                .is_active(&a.pool.name)
                .map(|b| r::IntRet { value: b as i32 })
                .map_err(v)
        }),
        p::STORAGE_POOL_IS_PERSISTENT => call(h, body, |a: r::PoolArgs| {
            conn.lock()
                .pools
                .is_persistent(&a.pool.name)
                .map(|b| r::IntRet { value: b as i32 })
                .map_err(v)
        }),
        p::STORAGE_POOL_NUM_OF_VOLUMES => call(h, body, |a: r::PoolArgs| {
            conn.lock()
                .pools
                .num_of_volumes(&a.pool.name)
                .map(|n| r::IntRet { value: n as i32 })
                .map_err(v)
        }),
        p::STORAGE_POOL_LIST_VOLUMES => call(h, body, |a: r::PoolListVolumesArgs| {
            let max = max_names(
                a.maxnames,
                limits::STORAGE_VOL_LIST_MAX,
                "REMOTE_STORAGE_VOL_LIST_MAX",
            )?;
            conn.lock()
                .pools
                .list_volumes(&a.pool.name, max)
                .map(|names| r::NamesRet { names })
                .map_err(v)
        }),
        p::STORAGE_POOL_LIST_ALL_VOLUMES => call(h, body, |a: r::PoolListAllVolumesArgs| {
            let all = conn
                .lock()
                .pools
                .list_all_volumes(&a.pool.name, a.flags)
                .map_err(v)?;
            let (vols, ret) = list_all(a.need_results, all.into_iter().map(vol).collect());
            Ok(r::ListAllVolumesRet { vols, ret })
        }),
        p::STORAGE_VOL_LOOKUP_BY_NAME => call(h, body, |a: r::VolLookupByNameArgs| {
            conn.lock()
                .pools
                .vol_lookup_by_name(&a.pool.name, &a.name)
                .map(vol_ret)
                .map_err(v)
        }),
        p::STORAGE_VOL_LOOKUP_BY_KEY => call(h, body, |a: r::LookupByNameArgs| {
            conn.lock()
                .pools
                .vol_lookup_by_key(&a.name)
                .map(vol_ret)
                .map_err(v)
        }),
        p::STORAGE_VOL_LOOKUP_BY_PATH => call(h, body, |a: r::LookupByNameArgs| {
            conn.lock()
                .pools
                .vol_lookup_by_path(&a.name)
                .map(vol_ret)
                .map_err(v)
        }),
        p::STORAGE_VOL_CREATE_XML => call(h, body, |a: r::PoolXmlFlagsArgs| {
            conn.lock()
                .pools
                .vol_create_xml(&a.pool.name, &a.xml, a.flags)
                .map(vol_ret)
                .map_err(v)
        }),
        p::STORAGE_VOL_CREATE_XML_FROM => call(h, body, |a: r::PoolXmlFromArgs| {
            conn.lock()
                .pools
                .vol_create_xml_from(&a.pool.name, &a.xml, &vol_ref(&a.clonevol), a.flags)
                .map(vol_ret)
                .map_err(v)
        }),
        p::STORAGE_VOL_DELETE => call(h, body, |a: r::VolFlagsArgs| {
            conn.lock()
                .pools
                .vol_delete(&a.vol.pool, &a.vol.name, a.flags)
                .map_err(v)
        }),
        p::STORAGE_VOL_GET_INFO => call(h, body, |a: r::VolArgs| {
            let i = conn
                .lock()
                .pools
                .vol_get_info(&a.vol.pool, &a.vol.name)
                .map_err(v)?;
            Ok(r::VolGetInfoRet {
                type_: i.vol_type,
                capacity: i.capacity,
                allocation: i.allocation,
            })
        }),
        p::STORAGE_VOL_GET_XML_DESC => call(h, body, |a: r::VolFlagsArgs| {
            conn.lock()
                .pools
                .vol_get_xml_desc(&a.vol.pool, &a.vol.name, a.flags)
                .map(|value| r::StringRet { value })
                .map_err(v)
        }),
        p::STORAGE_VOL_GET_PATH => call(h, body, |a: r::VolArgs| {
            conn.lock()
                .pools
                .vol_get_path(&a.vol.pool, &a.vol.name)
                .map(|value| r::StringRet { value })
                .map_err(v)
        }),
        _ => return None,
    })
}

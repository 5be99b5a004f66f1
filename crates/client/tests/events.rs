//! Event families against our daemon and Debian's libvirtd (test:///default): a watcher
//! connection registers, a second connection defines/starts/destroys objects, and the typed
//! streams must deliver every event, in order, to the right registration only; deregistration
//! (explicit, on drop, on receiver drop) must stop delivery on the server.

mod common;
use common::*;
use oxvirt_client::events::{
    DomainEvent, DomainEventId, EventStream, NetworkEvent, NetworkEventId, NetworkLifecycleKind,
    NodeDeviceEvent, NodeDeviceEventId, NodeDeviceLifecycleKind, SecretEventId, StoragePoolEvent,
    StoragePoolEventId, StoragePoolLifecycleKind,
};
use oxvirt_client::{ClientError, Connection, LifecycleKind};
use oxvirt_proto::remote::{self, procs};
use std::time::Duration;

async fn next<T>(s: &mut EventStream<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), s.recv())
        .await
        .expect("event did not arrive")
        .expect("event stream closed")
}

/// Asserts nothing more arrives within a short grace period (bounded).
async fn quiet<T: std::fmt::Debug>(s: &mut EventStream<T>) {
    if let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(300), s.recv()).await {
        panic!("unexpected event {ev:?}");
    }
}

fn lifecycle_of(ev: DomainEvent) -> (String, LifecycleKind, i32) {
    match ev {
        DomainEvent::Lifecycle(l) => (l.domain.name, l.kind, l.detail),
        other => panic!("not a lifecycle event: {other:?}"),
    }
}

/// Lets a background deregistration (spawned when a stream is dropped) reach the server.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The server refuses to deregister `id` again: the callback is gone.
async fn wait_deregistered(c: &Connection, proc_: i32, id: i32) {
    let r = c
        .call::<_, ()>(proc_, &remote::CallbackIdArgs { callback_id: id })
        .await;
    match r {
        Err(ClientError::Libvirt(e)) if e.message.contains("not registered") => {}
        other => panic!("callback {id} was still registered on the server: {other:?}"),
    }
}

async fn domain_events(t: &dyn Target) {
    let watcher = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let actor = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let mut all = watcher
        .domain_events(DomainEventId::Lifecycle, None)
        .await
        .unwrap();
    let a = actor.domain_define_xml(&domain_xml("oxe-a")).await.unwrap();
    // A filtered registration sees only its domain.
    let mut only_a = watcher
        .domain_events(DomainEventId::Lifecycle, Some(&a))
        .await
        .unwrap();
    assert_ne!(all.callback_id(), only_a.callback_id());
    let mut reboots = watcher
        .domain_events(DomainEventId::Reboot, None)
        .await
        .unwrap();
    let b = actor.domain_define_xml(&domain_xml("oxe-b")).await.unwrap();
    actor.domain_create(&a).await.unwrap();
    actor.domain_create(&b).await.unwrap();
    let ra = actor.lookup_domain_by_name("oxe-a").await.unwrap();
    let rb = actor.lookup_domain_by_name("oxe-b").await.unwrap();
    actor.domain_destroy(&ra).await.unwrap();
    actor.domain_destroy(&rb).await.unwrap();
    actor.domain_undefine(&a).await.unwrap();
    actor.domain_undefine(&b).await.unwrap();

    let mut got = Vec::new();
    while got.len() < 8 {
        let (name, kind, detail) = lifecycle_of(next(&mut all).await);
        if name.starts_with("oxe-") {
            got.push((name, kind, detail));
        }
    }
    let want = |n: &str, k, d| (n.to_string(), k, d);
    assert_eq!(
        got,
        vec![
            want("oxe-a", LifecycleKind::Defined, 0),
            want("oxe-b", LifecycleKind::Defined, 0),
            want("oxe-a", LifecycleKind::Started, 0),
            want("oxe-b", LifecycleKind::Started, 0),
            want("oxe-a", LifecycleKind::Stopped, 1),
            want("oxe-b", LifecycleKind::Stopped, 1),
            want("oxe-a", LifecycleKind::Undefined, 0),
            want("oxe-b", LifecycleKind::Undefined, 0),
        ]
    );
    let mut mine = Vec::new();
    for _ in 0..3 {
        let (name, kind, _) = lifecycle_of(next(&mut only_a).await);
        assert_eq!(name, "oxe-a");
        mine.push(kind);
    }
    assert_eq!(
        mine,
        [
            LifecycleKind::Started,
            LifecycleKind::Stopped,
            LifecycleKind::Undefined
        ]
    );
    quiet(&mut only_a).await;
    // No reboot happened: the reboot stream stays silent (but registered).
    quiet(&mut reboots).await;

    // A burst keeps its order.
    for i in 0..20 {
        let d = actor
            .domain_define_xml(&domain_xml(&format!("oxe-burst-{i}")))
            .await
            .unwrap();
        actor.domain_undefine(&d).await.unwrap();
    }
    let mut burst = Vec::new();
    while burst.len() < 40 {
        let (name, kind, _) = lifecycle_of(next(&mut all).await);
        if name.starts_with("oxe-burst-") {
            burst.push((name, kind));
        }
    }
    for i in 0..20 {
        let n = format!("oxe-burst-{i}");
        assert_eq!(burst[2 * i], (n.clone(), LifecycleKind::Defined));
        assert_eq!(burst[2 * i + 1], (n, LifecycleKind::Undefined));
    }

    // Subscriptions with the same event id and filter share one server callback (libvirtd
    // refuses a duplicate registration); each receives every event.
    let mut twin = watcher
        .domain_events(DomainEventId::Lifecycle, None)
        .await
        .unwrap();
    assert_eq!(twin.callback_id(), all.callback_id());
    let mut legacy = watcher.domain_lifecycle_events().await.unwrap();
    let c = actor.domain_define_xml(&domain_xml("oxe-c")).await.unwrap();
    assert_eq!(lifecycle_of(next(&mut all).await).0, "oxe-c");
    assert_eq!(lifecycle_of(next(&mut twin).await).0, "oxe-c");
    let ev = tokio::time::timeout(Duration::from_secs(10), legacy.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ev.domain.name.as_str(), ev.kind),
        ("oxe-c", LifecycleKind::Defined)
    );
    // Unsubscribing one keeps the others.
    twin.deregister().await.unwrap();
    drop(legacy);
    actor.domain_undefine(&c).await.unwrap();
    assert_eq!(
        lifecycle_of(next(&mut all).await),
        ("oxe-c".to_string(), LifecycleKind::Undefined, 0)
    );

    // Explicit deregistration of the last subscriber: the server forgets the callback.
    let id = all.callback_id();
    all.deregister().await.unwrap();
    wait_deregistered(
        &watcher,
        procs::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
        id,
    )
    .await;
    // Dropping a stream deregisters in the background.
    let id = only_a.callback_id();
    drop(only_a);
    settle().await;
    wait_deregistered(
        &watcher,
        procs::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
        id,
    )
    .await;
    // A detached receiver that is dropped is deregistered when the next event comes.
    let detached = watcher
        .domain_events(DomainEventId::Lifecycle, None)
        .await
        .unwrap();
    let id = detached.callback_id();
    drop(detached.detach());
    let mut sentinel = actor
        .domain_events(DomainEventId::Lifecycle, None)
        .await
        .unwrap();
    let d = actor.domain_define_xml(&domain_xml("oxe-d")).await.unwrap();
    assert_eq!(
        lifecycle_of(next(&mut sentinel).await).0,
        "oxe-d",
        "events still flow to live registrations"
    );
    settle().await;
    wait_deregistered(
        &watcher,
        procs::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
        id,
    )
    .await;
    actor.domain_undefine(&d).await.unwrap();
    drop(reboots);
    watcher.close().await.unwrap();
    actor.close().await.unwrap();
    // The stream closes with the connection.
    let t0 = std::time::Instant::now();
    while sentinel.recv().await.is_some() {
        assert!(t0.elapsed() < Duration::from_secs(5));
    }
}

/// The registration and an event-causing call pipelined on one connection: the event follows
/// the registration reply immediately and must not be missed (the route is installed by the
/// reader before it reads the next frame). Our daemon handles one connection's calls in order.
async fn no_gap_after_registration(t: &dyn Target) {
    let c = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    for i in 0..20 {
        let name = format!("oxe-gap-{i}");
        let xml = domain_xml(&name);
        let (stream, dom) = tokio::join!(
            c.domain_events(DomainEventId::Lifecycle, None),
            c.domain_define_xml(&xml)
        );
        let mut stream = stream.unwrap();
        let dom = dom.unwrap();
        let (n, kind, _) = lifecycle_of(next(&mut stream).await);
        assert_eq!((n.as_str(), kind), (name.as_str(), LifecycleKind::Defined));
        c.domain_undefine(&dom).await.unwrap();
        stream.deregister().await.unwrap();
    }
    c.close().await.unwrap();
}

fn network_xml(name: &str, n: u8) -> String {
    format!(
        "<network><name>{name}</name><bridge name='oxebr{n}'/>\
         <ip address='192.168.{n}.1' netmask='255.255.255.0'/></network>"
    )
}

async fn network_events(t: &dyn Target) {
    let watcher = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let actor = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let mut s = watcher
        .network_events(NetworkEventId::Lifecycle, None)
        .await
        .unwrap();
    let r: remote::NetworkRet = actor
        .call(
            procs::NETWORK_DEFINE_XML,
            &remote::XmlArgs {
                xml: network_xml("oxe-net", 213),
            },
        )
        .await
        .unwrap();
    let net = remote::NetworkArgs { net: r.net.clone() };
    actor
        .call::<_, ()>(procs::NETWORK_CREATE, &net)
        .await
        .unwrap();
    actor
        .call::<_, ()>(procs::NETWORK_DESTROY, &net)
        .await
        .unwrap();
    actor
        .call::<_, ()>(procs::NETWORK_UNDEFINE, &net)
        .await
        .unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 4 {
        let NetworkEvent::Lifecycle { network, kind, .. } = next(&mut s).await;
        if network.name == "oxe-net" {
            assert_eq!(network.uuid, r.net.uuid);
            kinds.push(kind);
        }
    }
    assert_eq!(
        kinds,
        [
            NetworkLifecycleKind::Defined,
            NetworkLifecycleKind::Started,
            NetworkLifecycleKind::Stopped,
            NetworkLifecycleKind::Undefined
        ]
    );
    let id = s.callback_id();
    s.deregister().await.unwrap();
    wait_deregistered(&watcher, procs::CONNECT_NETWORK_EVENT_DEREGISTER_ANY, id).await;
    actor.close().await.unwrap();
    watcher.close().await.unwrap();
}

async fn pool_events(t: &dyn Target) {
    let dir = tempfile::tempdir().unwrap();
    let watcher = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let actor = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let mut life = watcher
        .storage_pool_events(StoragePoolEventId::Lifecycle, None)
        .await
        .unwrap();
    let mut refresh = watcher
        .storage_pool_events(StoragePoolEventId::Refresh, None)
        .await
        .unwrap();
    let xml = format!(
        "<pool type='dir'><name>oxe-pool</name><target><path>{}</path></target></pool>",
        dir.path().display()
    );
    let r: remote::PoolRet = actor
        .call(
            procs::STORAGE_POOL_DEFINE_XML,
            &remote::XmlFlagsArgs { xml, flags: 0 },
        )
        .await
        .unwrap();
    // Filtered on this pool.
    let mut mine = watcher
        .storage_pool_events(StoragePoolEventId::Refresh, Some(&r.pool))
        .await
        .unwrap();
    let pf = remote::PoolFlagsArgs {
        pool: r.pool.clone(),
        flags: 0,
    };
    let p = remote::PoolArgs {
        pool: r.pool.clone(),
    };
    actor
        .call::<_, ()>(procs::STORAGE_POOL_CREATE, &pf)
        .await
        .unwrap();
    actor
        .call::<_, ()>(procs::STORAGE_POOL_REFRESH, &pf)
        .await
        .unwrap();
    actor
        .call::<_, ()>(procs::STORAGE_POOL_DESTROY, &p)
        .await
        .unwrap();
    actor
        .call::<_, ()>(procs::STORAGE_POOL_UNDEFINE, &p)
        .await
        .unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 4 {
        match next(&mut life).await {
            StoragePoolEvent::Lifecycle { pool, kind, .. } if pool.name == "oxe-pool" => {
                kinds.push(kind)
            }
            StoragePoolEvent::Lifecycle { .. } => {}
            other => panic!("refresh on the lifecycle stream: {other:?}"),
        }
    }
    assert_eq!(
        kinds,
        [
            StoragePoolLifecycleKind::Defined,
            StoragePoolLifecycleKind::Started,
            StoragePoolLifecycleKind::Stopped,
            StoragePoolLifecycleKind::Undefined
        ]
    );
    loop {
        match next(&mut refresh).await {
            StoragePoolEvent::Refresh { pool } if pool.name == "oxe-pool" => break,
            StoragePoolEvent::Refresh { .. } => {}
            other => panic!("lifecycle on the refresh stream: {other:?}"),
        }
    }
    assert_eq!(
        next(&mut mine).await,
        StoragePoolEvent::Refresh {
            pool: r.pool.clone()
        }
    );
    let ids = [
        life.callback_id(),
        refresh.callback_id(),
        mine.callback_id(),
    ];
    drop((life, refresh));
    mine.deregister().await.unwrap();
    settle().await;
    for id in ids {
        wait_deregistered(
            &watcher,
            procs::CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY,
            id,
        )
        .await;
    }
    actor.close().await.unwrap();
    watcher.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_domain_events() {
    let t = Ours::start();
    bounded(domain_events(&t)).await;
    bounded(no_gap_after_registration(&t)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_network_and_pool_events() {
    let t = Ours::start();
    bounded(network_events(&t)).await;
    bounded(pool_events(&t)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_domain_events() {
    let Some(t) = Reference::start() else {
        return;
    };
    bounded(domain_events(&t)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_network_and_pool_events() {
    let Some(t) = Reference::start() else {
        return;
    };
    bounded(network_events(&t)).await;
    bounded(pool_events(&t)).await;
}

/// The test driver creates a vHBA under scsi_host1 and emits node device lifecycle events;
/// it has no secret driver, so secret registration fails cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_node_device_and_secret_events() {
    let Some(t) = Reference::start() else {
        return;
    };
    bounded(async {
        let watcher = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
        let actor = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
        let mut s = watcher
            .node_device_events(NodeDeviceEventId::Lifecycle, None)
            .await
            .unwrap();
        let xml = "<device><parent>scsi_host1</parent><capability type='scsi_host'>\
                   <capability type='fc_host'><wwnn>2000000012345678</wwnn>\
                   <wwpn>1000000012345678</wwpn></capability></capability></device>";
        let r: remote::NodeDeviceRet = actor
            .call(
                procs::NODE_DEVICE_CREATE_XML,
                &remote::XmlFlagsArgs {
                    xml: xml.into(),
                    flags: 0,
                },
            )
            .await
            .unwrap();
        actor
            .call::<_, ()>(
                procs::NODE_DEVICE_DESTROY,
                &remote::NodeDeviceNameArgs {
                    name: r.dev.name.clone(),
                },
            )
            .await
            .unwrap();
        let mut kinds = Vec::new();
        while kinds.len() < 2 {
            match next(&mut s).await {
                NodeDeviceEvent::Lifecycle { device, kind, .. } if device == r.dev => {
                    kinds.push(kind)
                }
                _ => {}
            }
        }
        assert_eq!(
            kinds,
            [
                NodeDeviceLifecycleKind::Created,
                NodeDeviceLifecycleKind::Deleted
            ]
        );
        let id = s.callback_id();
        s.deregister().await.unwrap();
        wait_deregistered(
            &watcher,
            procs::CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY,
            id,
        )
        .await;
        let e = watcher
            .secret_events(SecretEventId::Lifecycle, None)
            .await
            .unwrap_err();
        assert!(e.vir_error().is_some(), "{e:?}");
        assert!(watcher.is_alive());
        actor.close().await.unwrap();
        watcher.close().await.unwrap();
    })
    .await;
}

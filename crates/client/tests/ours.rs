//! The async client against our daemon, served in-process.

mod common;
use common::*;

#[tokio::test]
async fn ours_open_close() {
    let t = Ours::start();
    bounded(open_close(&t)).await;
}

#[tokio::test]
async fn ours_list_lookup_info() {
    let t = Ours::start();
    bounded(list_lookup_info(&t)).await;
}

#[tokio::test]
async fn ours_lifecycle_define_start_destroy_undefine_events() {
    let t = Ours::start();
    bounded(lifecycle(&t)).await;
}

#[tokio::test]
async fn ours_read_only_refused() {
    let t = Ours::start();
    bounded(read_only_refused(&t)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_64_tasks_one_connection() {
    let t = Ours::start();
    bounded(concurrent(&t)).await;
}

#[tokio::test]
async fn ours_unknown_procedure() {
    let t = Ours::start();
    bounded(unknown_procedure(&t)).await;
}

#[tokio::test]
async fn ours_keepalive_healthy() {
    let t = Ours::start();
    bounded(keepalive_healthy(&t)).await;
}

#[tokio::test]
async fn ours_over_tcp() {
    let server = oxvirt_rpc::Server::new(
        "libvirtd",
        Default::default(),
        oxvirt_daemon::remote::programs(&oxvirt_daemon::family::LIBVIRTD),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = oxvirt_rpc::Service {
        listener: oxvirt_rpc::Listener::Tcp(l),
        readonly: false,
        auth_none: true,
        peers: oxvirt_rpc::service::PeerPolicy::Any,
    }
    .spawn(server);
    let uri = format!("test+tcp://127.0.0.1:{port}/default");
    let c = bounded(oxvirt_client::Connection::open(Some(&uri), false))
        .await
        .unwrap();
    assert_eq!(c.uri().as_deref(), Some("test:///default"));
    let d = bounded(c.lookup_domain_by_name("test")).await.unwrap();
    assert_eq!(bounded(c.domain_get_info(&d)).await.unwrap().state, 1);
    bounded(c.close()).await.unwrap();
    task.abort();
}

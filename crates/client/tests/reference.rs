//! The async client against Debian's reference libvirtd 9.0 (recipe A).

mod common;
use common::*;

#[tokio::test]
async fn reference_open_close() {
    let t = match Reference::start() {
        Some(t) => t,
        None => return,
    };
    bounded(open_close(&t)).await;
}

#[tokio::test]
async fn reference_list_lookup_info() {
    let t = match Reference::start() {
        Some(t) => t,
        None => return,
    };
    bounded(list_lookup_info(&t)).await;
}

#[tokio::test]
async fn reference_lifecycle_define_start_destroy_undefine_events() {
    let t = match Reference::start() {
        Some(t) => t,
        None => return,
    };
    bounded(lifecycle(&t)).await;
}

#[tokio::test]
async fn reference_read_only_refused() {
    let t = match Reference::start() {
        Some(t) => t,
        None => return,
    };
    bounded(read_only_refused(&t)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_64_tasks_one_connection() {
    let t = match Reference::start() {
        Some(t) => t,
        None => return,
    };
    bounded(concurrent(&t)).await;
}

#[tokio::test]
async fn reference_unknown_procedure() {
    let t = match Reference::start() {
        Some(t) => t,
        None => return,
    };
    bounded(unknown_procedure(&t)).await;
}

#[tokio::test]
async fn reference_keepalive_healthy() {
    let t = match Reference::start() {
        Some(t) => t,
        None => return,
    };
    bounded(keepalive_healthy(&t)).await;
}

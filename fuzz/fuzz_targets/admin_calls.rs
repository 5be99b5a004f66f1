//! Every procedure of the ADMIN program's table, with arbitrary payloads, on a detached client.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let rt = RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    });
    rt.block_on(async {
        oxvirt_daemon::fuzzing::admin_calls(data);
        tokio::task::yield_now().await;
    });
});

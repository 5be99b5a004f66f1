//! Every procedure of the REMOTE program's table, with arbitrary payloads, on a detached client.
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
    let readonly = data.first().is_some_and(|b| b & 1 == 1);
    rt.block_on(async {
        oxvirt_daemon::fuzzing::remote_calls(data, readonly);
        // Let the runtime reap the session's aborted event task (else every run "leaks").
        tokio::task::yield_now().await;
    });
});

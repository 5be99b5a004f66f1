//! Streams against Debian's C libvirtd 9.0 (session mode as the test user, real storage driver:
//! libvirt's test driver serves no volume upload/download, and ours serves no streams yet):
//! volume upload then download round trip on a dir pool, sparse download reporting holes,
//! sparse upload sending holes, abort, and a server-side stream error.

#[path = "../../daemon/tests/common/libvirt_session.rs"]
mod libvirt_session;
mod userthread;

use libvirt_session::{SessionLibvirtd, C_VIRTLOGD};
use oxvirt_client::stream::{StreamItem, VOL_DOWNLOAD_SPARSE, VOL_UPLOAD_SPARSE};
use oxvirt_client::{ClientError, Connection};
use oxvirt_proto::remote::{self, procs, StorageVol};
use std::os::unix::fs::FileExt;
use std::path::Path;

const MIB: u64 = 1 << 20;

async fn vol(c: &Connection, pool: &str, name: &str) -> StorageVol {
    let p: remote::PoolRet = c
        .call(
            procs::STORAGE_POOL_LOOKUP_BY_NAME,
            &remote::LookupByNameArgs { name: pool.into() },
        )
        .await
        .unwrap();
    let v: remote::VolRet = c
        .call(
            procs::STORAGE_VOL_LOOKUP_BY_NAME,
            &remote::VolLookupByNameArgs {
                pool: p.pool,
                name: name.into(),
            },
        )
        .await
        .unwrap();
    v.vol
}

/// Downloads a whole volume: the bytes (holes filled with zeros) and the hole lengths seen.
async fn download(c: &Connection, v: &StorageVol, flags: u32) -> (Vec<u8>, Vec<i64>) {
    let mut st = c.storage_vol_download(v, 0, 0, flags).await.unwrap();
    let (mut bytes, mut holes) = (Vec::new(), Vec::new());
    for _ in 0..100_000 {
        match st.recv().await.unwrap() {
            StreamItem::Data(b) => bytes.extend_from_slice(&b),
            StreamItem::Hole(n) => {
                holes.push(n);
                bytes.resize(bytes.len() + n as usize, 0);
            }
            StreamItem::End => {
                st.finish().await.unwrap();
                return (bytes, holes);
            }
        }
    }
    panic!("download did not end");
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(7).wrapping_add(seed as u32) as u8 | 1)
        .collect()
}

#[test]
fn c_libvirtd_volume_upload_download_sparse_abort() {
    let h = SessionLibvirtd::start(Path::new(C_VIRTLOGD), None, false);
    let pool_dir = h.files_dir().join("pool");
    std::fs::create_dir(&pool_dir).unwrap();
    nix::unistd::chown(&pool_dir, Some(h.uid.into()), Some(h.gid.into())).unwrap();
    let pool_s = pool_dir.display().to_string();
    h.virsh_ok(&["pool-define-as", "oxpool", "dir", "--target", &pool_s]);
    h.virsh_ok(&["pool-start", "oxpool"]);
    h.virsh_ok(&["vol-create-as", "oxpool", "plain.img", "1M"]);
    // A sparse 4 MiB file: 64 KiB of data, a hole, 64 KiB of data at 3 MiB, a hole to the end.
    let sparse = pool_dir.join("sparse.img");
    let f = std::fs::File::create(&sparse).unwrap();
    f.set_len(4 * MIB).unwrap();
    let head = pattern(64 * 1024, 3);
    let mid = pattern(64 * 1024, 5);
    f.write_all_at(&head, 0).unwrap();
    f.write_all_at(&mid, 3 * MIB).unwrap();
    f.sync_all().unwrap();
    drop(f);
    nix::unistd::chown(&sparse, Some(h.uid.into()), Some(h.gid.into())).unwrap();
    h.virsh_ok(&["vol-create-as", "oxpool", "target.img", "4M"]);
    // 64 MiB of zeros (sparse on disk): a non-sparse download sends it all as data.
    let big = pool_dir.join("big.img");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(64 * MIB)
        .unwrap();
    nix::unistd::chown(&big, Some(h.uid.into()), Some(h.gid.into())).unwrap();
    h.virsh_ok(&["pool-refresh", "oxpool"]);
    let uri = h.uri();
    let target_path = pool_dir.join("target.img");

    userthread::run_as(h.uid, h.gid, move || async move {
        let c = Connection::open(Some(&uri), false).await.unwrap();

        // Upload 1 MiB, then download it again.
        let plain = vol(&c, "oxpool", "plain.img").await;
        let data = pattern(MIB as usize, 11);
        let mut up = c.storage_vol_upload(&plain, 0, MIB, 0).await.unwrap();
        up.send(&data).await.unwrap();
        up.finish().await.unwrap();
        let (back, holes) = download(&c, &plain, 0).await;
        assert!(holes.is_empty());
        assert!(
            back == data,
            "downloaded bytes differ from the uploaded ones"
        );

        // Sparse download: data, hole, data, hole; holes reported as such.
        let sv = vol(&c, "oxpool", "sparse.img").await;
        let (bytes, holes) = download(&c, &sv, VOL_DOWNLOAD_SPARSE).await;
        assert_eq!(bytes.len() as u64, 4 * MIB);
        assert_eq!(&bytes[..head.len()], &head[..]);
        assert_eq!(
            &bytes[3 * MIB as usize..3 * MIB as usize + mid.len()],
            &mid[..]
        );
        assert!(
            bytes[head.len()..3 * MIB as usize].iter().all(|&b| b == 0),
            "hole not zero"
        );
        let hole_total: i64 = holes.iter().sum();
        assert!(
            holes.len() >= 2 && hole_total >= (4 * MIB - 128 * 1024) as i64,
            "holes {holes:?}"
        );
        // Without the sparse flag the same file arrives as plain data.
        let (bytes2, holes2) = download(&c, &sv, 0).await;
        assert!(holes2.is_empty());
        assert!(bytes2 == bytes);

        // Sparse upload: data, a 2 MiB hole, data.
        let tv = vol(&c, "oxpool", "target.img").await;
        let a = pattern(100_000, 7);
        let b = pattern(50_000, 9);
        let total = a.len() as u64 + 2 * MIB + b.len() as u64;
        let mut up = c
            .storage_vol_upload(&tv, 0, total, VOL_UPLOAD_SPARSE)
            .await
            .unwrap();
        up.send(&a).await.unwrap();
        up.send_hole(2 * MIB as i64, 0).await.unwrap();
        up.send(&b).await.unwrap();
        up.finish().await.unwrap();
        let on_disk = std::fs::read(&target_path).unwrap();
        assert_eq!(&on_disk[..a.len()], &a[..]);
        assert!(on_disk[a.len()..a.len() + 2 * MIB as usize]
            .iter()
            .all(|&x| x == 0));
        let off = a.len() + 2 * MIB as usize;
        assert_eq!(&on_disk[off..off + b.len()], &b[..]);

        // Flow control: a consumer that does not read holds the server back; the client
        // buffers at most about QUEUE_MAX, keepalive does not mistake the pause for a dead
        // server, and everything arrives once reading resumes.
        c.set_keepalive(std::time::Duration::from_millis(200), 2)
            .unwrap();
        let bv = vol(&c, "oxpool", "big.img").await;
        let mut st = c.storage_vol_download(&bv, 0, 0, 0).await.unwrap();
        let mut total = 0usize;
        if let StreamItem::Data(b) = st.recv().await.unwrap() {
            total += b.len();
        }
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let queued = c.queued_stream_bytes();
        eprintln!("queued while not reading: {queued} bytes");
        assert!(
            queued <= oxvirt_client::stream::QUEUE_MAX + 2 * MIB as usize,
            "queued {queued}"
        );
        assert!(
            queued > MIB as usize,
            "the server kept sending: queued {queued}"
        );
        assert!(c.is_alive());
        loop {
            match st.recv().await.unwrap() {
                StreamItem::Data(b) => {
                    assert!(b.iter().all(|&x| x == 0));
                    total += b.len();
                }
                StreamItem::Hole(_) => panic!("hole without the sparse flag"),
                StreamItem::End => break,
            }
        }
        st.finish().await.unwrap();
        assert_eq!(total as u64, 64 * MIB);
        assert_eq!(c.queued_stream_bytes(), 0);
        c.set_keepalive(std::time::Duration::ZERO, 0).unwrap();

        // Abort a download half way: the connection stays usable.
        let mut st = c.storage_vol_download(&sv, 0, 0, 0).await.unwrap();
        assert!(matches!(st.recv().await.unwrap(), StreamItem::Data(_)));
        st.abort().await.unwrap();
        assert!(!c.get_hostname().await.unwrap().is_empty());

        // A stream the server refuses: the opening call fails with the libvirt error.
        let bogus = StorageVol {
            name: "nosuch.img".into(),
            key: format!("{}/nosuch.img", plain.pool),
            ..plain.clone()
        };
        let e = c.storage_vol_upload(&bogus, 0, 10, 0).await.unwrap_err();
        assert!(matches!(e, ClientError::Libvirt(_)), "{e:?}");
        assert_eq!(e.code(), 50, "VIR_ERR_NO_STORAGE_VOL: {e}");

        // Dropping a stream without finishing aborts it; the connection goes on.
        drop(c.storage_vol_download(&sv, 0, 0, 0).await.unwrap());
        assert!(!c.get_hostname().await.unwrap().is_empty());
        c.close().await.unwrap();
    });
}

#[test]
fn c_libvirtd_console_of_a_real_guest() {
    let assets = libvirt_session::GuestAssets::ensure();
    if !assets.bootable() {
        eprintln!("no bootable guest assets: console test skipped");
        return;
    }
    let h = SessionLibvirtd::start(Path::new(C_VIRTLOGD), None, false);
    let out = h.define_and_start_guest("oxconsole", &assets, None);
    assert!(
        out.status.success(),
        "virsh start: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        h.diagnostics()
    );
    let uri = h.uri();
    userthread::run_as(h.uid, h.gid, move || async move {
        let c = Connection::open(Some(&uri), false).await.unwrap();
        let dom = c.lookup_domain_by_name("oxconsole").await.unwrap();
        let mut st = c.domain_open_console(&dom, None, 0).await.unwrap();
        // The guest prints "OXVIRT-GUEST-TICK <n>" every ~0.2 s once booted.
        let mut text = String::new();
        let t0 = std::time::Instant::now();
        while !text.contains("OXVIRT-GUEST-TICK") {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(90),
                "console text so far: {text:?}"
            );
            match tokio::time::timeout(std::time::Duration::from_secs(5), st.recv()).await {
                Ok(Ok(StreamItem::Data(b))) => text.push_str(&String::from_utf8_lossy(&b)),
                Ok(Ok(other)) => panic!("console ended: {other:?} after {text:?}"),
                Ok(Err(e)) => panic!("console error {e} after {text:?}"),
                Err(_) => {}
            }
        }
        // Full duplex: keystrokes go out while output keeps coming in.
        st.send(b"\r\n").await.unwrap();
        let seen = text.matches("OXVIRT-GUEST-TICK").count();
        let t0 = std::time::Instant::now();
        while text.matches("OXVIRT-GUEST-TICK").count() == seen {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(30),
                "{text:?}"
            );
            st.sender().send(b" ").await.unwrap();
            match tokio::time::timeout(std::time::Duration::from_secs(5), st.recv()).await {
                Ok(Ok(StreamItem::Data(b))) => text.push_str(&String::from_utf8_lossy(&b)),
                Ok(other) => panic!("console: {other:?}"),
                Err(_) => {}
            }
        }
        // The console is taken: a second open without FORCE is refused.
        let e = c.domain_open_console(&dom, None, 0).await.unwrap_err();
        eprintln!("second open: {e}");
        assert!(matches!(e, ClientError::Libvirt(_)), "{e:?}");
        // FORCE takes it over: the new stream gets the guest's output, the old one ends.
        let mut st2 = c
            .domain_open_console(&dom, None, oxvirt_client::stream::CONSOLE_FORCE)
            .await
            .unwrap();
        let mut text2 = String::new();
        let t0 = std::time::Instant::now();
        while !text2.contains("OXVIRT-GUEST-TICK") {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(30),
                "{text2:?}"
            );
            match tokio::time::timeout(std::time::Duration::from_secs(5), st2.recv()).await {
                Ok(Ok(StreamItem::Data(b))) => text2.push_str(&String::from_utf8_lossy(&b)),
                Ok(other) => panic!("forced console: {other:?}"),
                Err(_) => {}
            }
        }
        let old = loop {
            match tokio::time::timeout(std::time::Duration::from_secs(10), st.recv())
                .await
                .expect("the old console stream ends")
            {
                Ok(StreamItem::Data(_)) => continue,
                other => break other,
            }
        };
        // libvirtd aborts the old stream with its error packet.
        let e = old.unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            (39, "stream had I/O failure")
        );
        drop(st);
        st2.abort().await.unwrap();
        assert!(!c.get_hostname().await.unwrap().is_empty());
        c.close().await.unwrap();
    });
    h.destroy_guest("oxconsole");
}

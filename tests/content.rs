//! The content plane as a client sees it: real bytes at the download URIs over HTTP and
//! HTTPS, checksums that match the bytes, certificates that match their thumbprints, Range
//! resumption, HEAD, dead URIs after the session ends, and a directory library that never
//! serves anything outside itself.

mod common;

use std::time::Duration;

use common::forms::{Client, Form};
use common::{ISO_ITEM, OVF_ITEM};
use dlsim::Dlsim;
use dlsim::{FileSpec, ItemSpec, LibrarySpec};
use md5::Md5;
use rstest::rstest;
use serde_json::Value;
use sha1::{Digest, Sha1};
use sha2::{Sha256, Sha512};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes' own checksum in the named algorithm (computed here, not by dlsim).
enum Sum {
    Sha1(Sha1),
    Md5(Md5),
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Sum {
    fn new(algorithm: &str) -> Sum {
        match algorithm {
            "SHA1" => Sum::Sha1(Sha1::new()),
            "MD5" => Sum::Md5(Md5::new()),
            "SHA256" => Sum::Sha256(Sha256::new()),
            "SHA512" => Sum::Sha512(Sha512::new()),
            other => panic!("unknown algorithm {other}"),
        }
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            Sum::Sha1(h) => h.update(b),
            Sum::Md5(h) => h.update(b),
            Sum::Sha256(h) => h.update(b),
            Sum::Sha512(h) => h.update(b),
        }
    }
    fn hex(self) -> String {
        match self {
            Sum::Sha1(h) => hex(&h.finalize()),
            Sum::Md5(h) => hex(&h.finalize()),
            Sum::Sha256(h) => hex(&h.finalize()),
            Sum::Sha512(h) => hex(&h.finalize()),
        }
    }
}

/// Stream a URI (never holding it whole); returns status, length, the bytes' checksum and
/// the thumbprints of the certificate presented (for HTTPS).
async fn fetch_sum(
    http: &reqwest::Client,
    uri: &str,
    algorithm: &str,
) -> (u16, u64, String, Option<dlsim::Thumbprints>) {
    let mut r = http.get(uri).send().await.unwrap();
    let presented = common::tls::presented(&r);
    let status = r.status().as_u16();
    let declared = r.content_length();
    let mut sum = Sum::new(algorithm);
    let mut n = 0u64;
    while let Some(chunk) = r.chunk().await.unwrap() {
        n += chunk.len() as u64;
        sum.update(&chunk);
    }
    if status == 200 {
        assert_eq!(declared, Some(n), "Content-Length matches the bytes");
    }
    (status, n, sum.hex(), presented)
}

async fn fetch(
    http: &reqwest::Client,
    uri: &str,
    range: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = http.get(uri);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

/// Create a session on `item` and prepare every file; returns the id and the file infos.
async fn prepared(c: &Client, item: &str) -> (String, Vec<Value>) {
    let id = c.create(item, None).await.string();
    let files = c.file_list(&id).await.ok().as_array().unwrap().clone();
    let mut infos = vec![];
    for f in files {
        let name = f["name"].as_str().unwrap();
        let info = c.prepare(&id, name, None).await.ok().clone();
        assert_eq!(info["status"], "PREPARED");
        infos.push(info);
    }
    (id, infos)
}

#[rstest]
#[case::http(false)]
#[case::https(true)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_file_downloads_and_matches_its_checksum(#[case] tls: bool) {
    let builder = Dlsim::builder();
    let fake = if tls { builder.tls() } else { builder }.start().await;
    let c = Client::logged_in(&fake, Form::Api).await;
    let http = c.http.clone();
    for (item, algorithm) in [(OVF_ITEM, "SHA1"), (ISO_ITEM, "SHA256")] {
        let (id, infos) = prepared(&c, item).await;
        for info in infos {
            let name = info["name"].as_str().unwrap().to_string();
            let endpoint = &info["download_endpoint"];
            let uri = endpoint["uri"].as_str().unwrap();
            assert_eq!(uri.starts_with("https://"), tls, "{uri}");
            assert!(
                info.get("checksum_info").is_none(),
                "no checksum before a download"
            );

            let (status, n, own, presented) = fetch_sum(&http, uri, algorithm).await;
            assert_eq!(status, 200);
            let after = c.file_get(&id, &name).await.ok().clone();
            assert_eq!(after["size"], n, "{name}: size is the bytes served");
            assert_eq!(after["bytes_transferred"], n);
            assert_eq!(after["checksum_info"]["algorithm"], algorithm);
            assert_eq!(after["checksum_info"]["checksum"], own.as_str(), "{name}");

            if tls {
                let presented = presented.expect("an HTTPS connection presents a certificate");
                assert_eq!(
                    endpoint["ssl_certificate_thumbprint"],
                    presented.sha1.as_str()
                );
                assert_eq!(presented.sha1, fake.certificate().unwrap().sha1);
            } else {
                assert!(endpoint.get("ssl_certificate_thumbprint").is_none());
            }
        }
        c.delete(&id).await.done();
    }
}

fn small_library() -> Vec<LibrarySpec> {
    let item = |name: &str, algorithm: &str| ItemSpec {
        id: None,
        name: name.to_string(),
        item_type: Some("ovf".into()),
        description: None,
        content_version: "1".into(),
        checksum_algorithm: Some(algorithm.to_string()),
        files: vec![
            FileSpec {
                name: format!("{name}.ovf"),
                size: 4_321,
            },
            FileSpec {
                name: format!("{name} disk 1.vmdk"),
                size: 700_001,
            },
            FileSpec {
                name: format!("{name}.empty"),
                size: 0,
            },
        ],
        path: None,
    };
    vec![LibrarySpec {
        id: None,
        name: "algorithms".into(),
        description: None,
        items: ["SHA1", "MD5", "SHA256", "SHA512"]
            .iter()
            .map(|a| item(&a.to_lowercase(), a))
            .collect(),
    }]
}

/// A fake serving [`small_library`], a logged-in `/api` client, and the id of its first item.
async fn small_fake() -> (Dlsim, Client, String) {
    let fake = Dlsim::builder().libraries(small_library()).start().await;
    let c = Client::logged_in(&fake, Form::Api).await;
    let lib = c.libraries().await.first();
    let item = c.items(&lib).await.first();
    (fake, c, item)
}

#[rstest]
#[case::http(false)]
#[case::https(true)]
#[tokio::test]
async fn each_checksum_algorithm_matches_the_bytes(#[case] tls: bool) {
    let builder = Dlsim::builder().libraries(small_library());
    let fake = if tls { builder.tls() } else { builder }.start().await;
    let c = Client::logged_in(&fake, Form::Api).await;
    let http = c.http.clone();
    let lib = c.libraries().await.first();
    let items = c.items(&lib).await.ok().as_array().unwrap().clone();
    let mut seen = vec![];
    for item in items {
        let item = item.as_str().unwrap();
        let (id, infos) = prepared(&c, item).await;
        for info in infos {
            let name = info["name"].as_str().unwrap();
            let uri = info["download_endpoint"]["uri"].as_str().unwrap();
            let algorithm = c.item(item).await.ok()["name"]
                .as_str()
                .unwrap()
                .to_uppercase();
            let (status, n, own, _) = fetch_sum(&http, uri, &algorithm).await;
            assert_eq!((status, n), (200, info["size"].as_u64().unwrap()));
            let after = c.file_get(&id, name).await.ok().clone();
            assert_eq!(after["checksum_info"]["algorithm"], algorithm.as_str());
            assert_eq!(after["checksum_info"]["checksum"], own.as_str(), "{name}");
            seen.push(algorithm);
        }
    }
    seen.dedup();
    assert_eq!(seen, ["SHA1", "MD5", "SHA256", "SHA512"]);
}

#[tokio::test]
async fn range_resumption_gives_identical_bytes_and_completes_the_checksum() {
    let (_fake, c, item) = small_fake().await;
    let http = c.http.clone();
    let (id, infos) = prepared(&c, &item).await;
    let info = &infos[1];
    let (name, size) = (
        info["name"].as_str().unwrap(),
        info["size"].as_u64().unwrap(),
    );
    let uri = info["download_endpoint"]["uri"].as_str().unwrap();
    assert!(
        uri.ends_with("/sha1%20disk%201.vmdk"),
        "names are percent-encoded: {uri}"
    );

    // First part, as a download cut short.
    let (status, headers, first) = fetch(&http, uri, Some("bytes=0-299999")).await;
    assert_eq!(status, 206);
    assert_eq!(
        headers["content-range"],
        format!("bytes 0-299999/{size}").as_str()
    );
    assert_eq!(first.len(), 300_000);
    let mid = c.file_get(&id, name).await.ok().clone();
    assert_eq!(mid["bytes_transferred"], 300_000);
    assert!(mid.get("checksum_info").is_none(), "not complete yet");

    // Resume from where it stopped.
    let (status, _, rest) = fetch(&http, uri, Some("bytes=300000-")).await;
    assert_eq!(status, 206);
    let resumed = [first, rest].concat();
    let (_, _, whole) = fetch(&http, uri, None).await;
    assert_eq!(resumed.len() as u64, size);
    assert_eq!(resumed, whole, "resumed bytes equal the whole download");
    let done = c.file_get(&id, name).await.ok().clone();
    assert_eq!(done["bytes_transferred"], size);
    assert_eq!(
        done["checksum_info"]["checksum"],
        hex(&Sha1::digest(&resumed)).as_str()
    );

    // A suffix range, and an unsatisfiable one.
    let (status, _, tail) = fetch(&http, uri, Some("bytes=-10")).await;
    assert_eq!((status, tail.as_slice()), (206, &whole[whole.len() - 10..]));
    let (status, headers, body) = fetch(&http, uri, Some(&format!("bytes={size}-"))).await;
    assert_eq!(status, 416);
    assert_eq!(headers["content-range"], format!("bytes */{size}").as_str());
    assert_eq!(headers["content-type"], "application/json");
    let error: Value = serde_json::from_slice(&body).expect("a JSON error body");
    common::assert_schema("api/error", &error);
}

#[tokio::test]
async fn head_describes_without_serving() {
    let (_fake, c, item) = small_fake().await;
    let http = c.http.clone();
    let (id, infos) = prepared(&c, &item).await;
    let uri = infos[0]["download_endpoint"]["uri"].as_str().unwrap();
    let r = http.head(uri).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], "4321");
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert!(r.bytes().await.unwrap().is_empty());
    let info = c
        .file_get(&id, infos[0]["name"].as_str().unwrap())
        .await
        .ok()
        .clone();
    assert_eq!(info["bytes_transferred"], 0);
}

#[rstest]
#[case::canceled("cancel", 410)]
#[case::failed("fail", 410)]
#[case::deleted("delete", 404)]
#[case::expired("expire", 404)]
#[tokio::test]
async fn a_finished_sessions_uris_stop_serving(#[case] how: &str, #[case] status: u16) {
    let (fake, c, item) = small_fake().await;
    let http = c.http.clone();
    let (id, infos) = prepared(&c, &item).await;
    let uri = infos[0]["download_endpoint"]["uri"].as_str().unwrap();
    assert_eq!(fetch(&http, uri, None).await.0, 200);
    match how {
        "cancel" => c.cancel(&id).await.done(),
        "fail" => c.fail(&id, "client gave up").await.done(),
        "delete" => c.delete(&id).await.done(),
        _ => {
            fake.clock().advance(Duration::from_secs(301));
        }
    }
    let (got, headers, body) = fetch(&http, uri, None).await;
    assert_eq!(got, status);
    assert_eq!(headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&body).unwrap();
    common::assert_schema("api/error", &body);
}

#[tokio::test]
async fn uris_need_the_right_token_file_and_preparation() {
    let (_fake, c, item) = small_fake().await;
    let http = c.http.clone();
    let id = c.create(&item, None).await.string();
    let info = c.prepare(&id, "sha1.ovf", None).await.ok().clone();
    let uri = info["download_endpoint"]["uri"]
        .as_str()
        .unwrap()
        .to_string();
    let base = uri.rsplit_once('/').unwrap().0.to_string();
    // Another file of the session that was not prepared, an unknown file, a wrong token.
    assert_eq!(
        fetch(&http, &format!("{base}/sha1.empty"), None).await.0,
        404
    );
    assert_eq!(
        fetch(&http, &format!("{base}/nope.vmdk"), None).await.0,
        404
    );
    let wrong = uri.replace("/cls/data/", "/cls/data/0");
    assert_eq!(fetch(&http, &wrong, None).await.0, 404);
    // A file prepared for DIRECT has no HTTP URI.
    c.prepare(&id, "sha1.empty", Some("DIRECT")).await.ok();
    assert_eq!(
        fetch(&http, &format!("{base}/sha1.empty"), None).await.0,
        404
    );
    assert_eq!(fetch(&http, &uri, None).await.0, 200);
}

#[tokio::test]
async fn a_directory_library_serves_its_files_and_nothing_outside() {
    let root = tempfile::tempdir().unwrap();
    let lib = root.path().join("lib");
    std::fs::create_dir_all(lib.join("alpine")).unwrap();
    std::fs::create_dir_all(lib.join("photon")).unwrap();
    let iso: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(lib.join("alpine/alpine.iso"), &iso).unwrap();
    std::fs::write(lib.join("photon/photon.ovf"), b"<Envelope/>").unwrap();
    std::fs::write(root.path().join("secret.txt"), b"top secret").unwrap();

    let fake = Dlsim::builder().library_dir(&lib).start().await;
    let c = Client::logged_in(&fake, Form::Api).await;
    let http = c.http.clone();
    let lib_id = c.libraries().await.first();
    assert_eq!(c.library(&lib_id).await.ok()["name"], "lib");
    let items = c.items(&lib_id).await.ok().as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let alpine = items[0].as_str().unwrap();
    assert_eq!(c.item(alpine).await.ok()["name"], "alpine");

    let (id, infos) = prepared(&c, alpine).await;
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0]["size"], 300_000);
    let uri = infos[0]["download_endpoint"]["uri"].as_str().unwrap();
    let (status, _, bytes) = fetch(&http, uri, None).await;
    assert_eq!((status, bytes == iso), (200, true));
    let (_, _, part) = fetch(&http, uri, Some("bytes=1000-1999")).await;
    assert_eq!(part, iso[1000..2000]);
    assert_eq!(
        c.file_get(&id, "alpine.iso").await.ok()["checksum_info"]["checksum"],
        hex(&Sha1::digest(&iso)).as_str()
    );

    // Traversal, in the URI and in the API: refused, and the secret never leaves.
    let base = uri.rsplit_once('/').unwrap().0;
    for name in [
        "..%2Fsecret.txt",
        "..%2F..%2Fsecret.txt",
        "%2E%2E%2Fsecret.txt",
        "..",
        "%2Fetc%2Fpasswd",
    ] {
        let (status, _, body) = fetch(&http, &format!("{base}/{name}"), None).await;
        assert_eq!(status, 404, "{name}");
        assert!(!String::from_utf8_lossy(&body).contains("top secret"));
    }
    for name in [
        "../secret.txt",
        "../../lib/photon/photon.ovf",
        "/etc/passwd",
    ] {
        assert_eq!(
            c.prepare(&id, name, None).await.err(),
            "INVALID_ARGUMENT",
            "{name}"
        );
    }
}

/// Files of a directory library replaced after start by a symlink leading outside (or whose
/// item directory was) are never read: not by the download, not by the prepare-time read. A
/// symlink inside the library that was there at load keeps serving its target.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_swapped_for_a_symlink_after_start_is_never_served() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let (lib, outside) = (root.path().join("lib"), root.path().join("outside"));
    std::fs::create_dir_all(lib.join("item")).unwrap();
    std::fs::create_dir_all(lib.join("other")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let secret = b"top secret ".repeat(1000);
    for name in ["a.iso", "b.iso", "c.iso"] {
        std::fs::write(outside.join(name), &secret).unwrap();
    }
    let own = vec![7u8; 4096];
    for name in ["a.iso", "b.iso", "d.iso"] {
        std::fs::write(lib.join("item").join(name), &own).unwrap();
    }
    std::fs::write(lib.join("other/c.iso"), &own).unwrap();
    symlink("d.iso", lib.join("item/alias.iso")).unwrap();
    let fake = Dlsim::builder()
        .real_clock()
        .library_dir(&lib)
        .start()
        .await;
    let c = Client::logged_in(&fake, Form::Api).await;
    let lib_id = c.libraries().await.first();
    let items = c.items(&lib_id).await.ok().as_array().unwrap().clone();
    let (item, other) = (items[0].as_str().unwrap(), items[1].as_str().unwrap());
    assert_eq!(c.item(item).await.ok()["name"], "item");
    let id = c.create(item, None).await.string();
    let uri_of = |info: &Value| {
        info["download_endpoint"]["uri"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let assert_refused = |status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]| {
        assert_eq!(status, 404);
        assert_eq!(headers["content-type"], "application/json");
        assert!(!String::from_utf8_lossy(body).contains("top secret"));
    };

    // Prepared, then swapped: the download refuses it.
    c.prepare(&id, "a.iso", None).await.ok();
    let (info, _) = settle(&c, &id, "a.iso").await;
    assert_eq!(info["status"], "PREPARED");
    std::fs::remove_file(lib.join("item/a.iso")).unwrap();
    symlink(outside.join("a.iso"), lib.join("item/a.iso")).unwrap();
    let (status, headers, body) = fetch(&c.http, &uri_of(&info), None).await;
    assert_refused(status, &headers, &body);

    // Swapped, then prepared: the prepare-time read refuses it.
    std::fs::remove_file(lib.join("item/b.iso")).unwrap();
    symlink(outside.join("b.iso"), lib.join("item/b.iso")).unwrap();
    c.prepare(&id, "b.iso", None).await.ok();
    let (info, _) = settle(&c, &id, "b.iso").await;
    assert_eq!(info["status"], "ERROR", "{info}");
    assert!(info.get("download_endpoint").is_none());

    // A symlink inside the library from load time serves its target.
    c.prepare(&id, "alias.iso", None).await.ok();
    let (info, _) = settle(&c, &id, "alias.iso").await;
    let (status, _, body) = fetch(&c.http, &uri_of(&info), None).await;
    assert_eq!((status, body == own), (200, true));

    // An item directory swapped for a symlink to a look-alike outside is refused too.
    let other_id = c.create(other, None).await.string();
    c.prepare(&other_id, "c.iso", None).await.ok();
    let (info, _) = settle(&c, &other_id, "c.iso").await;
    assert_eq!(info["status"], "PREPARED");
    std::fs::rename(lib.join("other"), root.path().join("moved")).unwrap();
    symlink(&outside, lib.join("other")).unwrap();
    let (status, headers, body) = fetch(&c.http, &uri_of(&info), None).await;
    assert_refused(status, &headers, &body);
}

#[tokio::test]
async fn a_stop_does_not_hang_on_a_client_that_stopped_reading() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fake = Dlsim::builder()
        .shutdown_grace(Duration::from_millis(200))
        .start()
        .await;
    let c = Client::logged_in(&fake, Form::Api).await;
    let id = c.create(OVF_ITEM, None).await.string();
    let info = c
        .prepare(&id, "photon-5-disk1.vmdk", None)
        .await
        .ok()
        .clone();
    let uri = info["download_endpoint"]["uri"]
        .as_str()
        .unwrap()
        .to_string();
    let (host, path) = uri
        .strip_prefix("http://")
        .unwrap()
        .split_once('/')
        .unwrap();
    let mut sock = tokio::net::TcpStream::connect(host).await.unwrap();
    sock.write_all(format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut first = [0u8; 4096];
    assert!(
        sock.read(&mut first).await.unwrap() > 0,
        "the download started"
    );
    // The client now stops reading 1 GiB; the stop must still finish.
    let stopped = tokio::time::timeout(Duration::from_secs(20), fake.stop()).await;
    assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
    drop(sock);
}

/// Poll a file while it is being prepared (at most 30 s); returns its info once it settles and
/// every status seen on the way.
async fn settle(c: &Client, id: &str, name: &str) -> (Value, Vec<String>) {
    let mut seen: Vec<String> = vec![];
    for _ in 0..600 {
        let info = c.file_get(id, name).await.ok().clone();
        let status = info["status"].as_str().unwrap().to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if !["PREPARE_REQUESTED", "PREPARING"].contains(&status.as_str()) {
            return (info, seen);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} still preparing after 30 s: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_real_clock_preparing_reads_the_file_once_for_every_session() {
    let size = 64 << 20;
    let library = vec![LibrarySpec {
        id: None,
        name: "big".into(),
        description: None,
        items: vec![ItemSpec {
            id: None,
            name: "disk".into(),
            item_type: None,
            description: None,
            content_version: "1".into(),
            checksum_algorithm: None,
            files: vec![FileSpec {
                name: "disk.vmdk".into(),
                size,
            }],
            path: None,
        }],
    }];
    let fake = Dlsim::builder()
        .real_clock()
        .libraries(library)
        .start()
        .await;
    let c = Client::logged_in(&fake, Form::Api).await;
    let lib = c.libraries().await.first();
    let item = c.items(&lib).await.first();

    let first = c.create(&item, None).await.string();
    let asked = c.prepare(&first, "disk.vmdk", None).await.ok().clone();
    assert_eq!(asked["status"], "PREPARING", "64 MiB are not read at once");
    assert!(asked.get("download_endpoint").is_none());
    let (info, seen) = settle(&c, &first, "disk.vmdk").await;
    assert_eq!(seen.last().unwrap(), "PREPARED", "{seen:?}");
    assert!(info.get("checksum_info").is_none(), "not before a download");

    // The checksum is ready, so the download's last byte publishes it.
    let uri = info["download_endpoint"]["uri"].as_str().unwrap();
    let (status, n, own, _) = fetch_sum(&c.http, uri, "SHA1").await;
    assert_eq!((status, n), (200, size));
    let after = c.file_get(&first, "disk.vmdk").await.ok().clone();
    assert_eq!(after["checksum_info"]["checksum"], own.as_str());

    // Another session on the same content finds the file already read.
    let second = c.create(&item, None).await.string();
    let again = c.prepare(&second, "disk.vmdk", None).await.ok().clone();
    assert_eq!(again["status"], "PREPARED");
}

#[tokio::test]
async fn with_the_real_clock_an_unreadable_file_ends_in_error_and_the_next_session_retries() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("item")).unwrap();
    let file = root.path().join("item/gone.iso");
    std::fs::write(&file, vec![7u8; 4096]).unwrap();
    let fake = Dlsim::builder()
        .real_clock()
        .library_dir(root.path())
        .start()
        .await;
    std::fs::remove_file(&file).unwrap();

    let c = Client::logged_in(&fake, Form::Api).await;
    let lib = c.libraries().await.first();
    let item = c.items(&lib).await.first();
    let id = c.create(&item, None).await.string();
    c.prepare(&id, "gone.iso", None).await.ok();
    let (info, _) = settle(&c, &id, "gone.iso").await;
    assert_eq!(info["status"], "ERROR");
    assert!(info.get("download_endpoint").is_none());
    let message = &info["error_message"];
    assert_eq!(
        message["id"],
        "com.vmware.vdcs.cls-main.file_prepare_failed"
    );
    assert_eq!(message["args"][0], "gone.iso");
    assert!(
        message["default_message"]
            .as_str()
            .unwrap()
            .starts_with("Failed to prepare file gone.iso for download: "),
        "{message}"
    );
    // Only the file failed: the session goes on.
    assert_eq!(c.get(&id).await.ok()["state"], "ACTIVE");

    // Once the file is back, the next session's prepare reads it again.
    std::fs::write(&file, vec![7u8; 4096]).unwrap();
    let next = c.create(&item, None).await.string();
    c.prepare(&next, "gone.iso", None).await.ok();
    let (info, _) = settle(&c, &next, "gone.iso").await;
    assert_eq!(info["status"], "PREPARED");
    let uri = info["download_endpoint"]["uri"].as_str().unwrap();
    let (status, _, own, _) = fetch_sum(&c.http, uri, "SHA1").await;
    assert_eq!(status, 200);
    assert_eq!(own, hex(&Sha1::digest(vec![7u8; 4096])));
    assert_eq!(
        c.file_get(&next, "gone.iso").await.ok()["checksum_info"]["checksum"],
        own.as_str()
    );
}

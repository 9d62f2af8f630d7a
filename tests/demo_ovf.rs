//! The demo OVF template is one a real client can export: its descriptor is an OVF 1.x
//! envelope that references the disk with its real size, and its manifest's `SHA256(name)=`
//! lines match the bytes served for every other file.

mod common;

use std::collections::BTreeMap;

use common::forms::{Client, Form};
use common::OVF_ITEM;
use dlsim::Dlsim;
use sha2::{Digest, Sha256};

const OVF_NS: &str = "http://schemas.dmtf.org/ovf/envelope/1";

/// One element of the descriptor: its path of local names from the root, and its attributes
/// (qualified names as written).
#[derive(Debug)]
struct Element {
    path: Vec<String>,
    attrs: BTreeMap<String, String>,
    text: String,
}

/// Every element of `xml`, in document order; panics unless it is well-formed.
fn elements(xml: &str) -> Vec<Element> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut stack, mut out): (Vec<String>, Vec<Element>) = (vec![], vec![]);
    let mut open: Vec<usize> = vec![];
    loop {
        let event = reader.read_event().expect("well-formed XML");
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = String::from_utf8(e.local_name().as_ref().to_vec()).unwrap();
                stack.push(name);
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("well-formed attribute");
                        (
                            String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                            String::from_utf8(a.value.to_vec()).unwrap(),
                        )
                    })
                    .collect();
                out.push(Element {
                    path: stack.clone(),
                    attrs,
                    text: String::new(),
                });
                if matches!(event, Event::Empty(_)) {
                    stack.pop();
                } else {
                    open.push(out.len() - 1);
                }
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(_) => {
                stack.pop();
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    out
}

fn at<'a>(all: &'a [Element], path: &str) -> Vec<&'a Element> {
    all.iter().filter(|e| e.path.join("/") == path).collect()
}

/// The whole body of a download URI, hashed as it streams (never held whole).
async fn sha256_of(http: &reqwest::Client, uri: &str) -> (String, u64) {
    let mut r = http.get(uri).send().await.unwrap();
    assert_eq!(r.status(), 200, "{uri}");
    let (mut h, mut n) = (Sha256::new(), 0u64);
    while let Some(chunk) = r.chunk().await.unwrap() {
        n += chunk.len() as u64;
        h.update(&chunk);
    }
    let hex = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    (hex, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_descriptor_and_manifest_describe_the_served_bytes() {
    let fake = Dlsim::start().await;
    let c = Client::logged_in(&fake, Form::Api).await;
    let id = c.create(OVF_ITEM, None).await.string();
    let mut uris = BTreeMap::new();
    let mut sizes = BTreeMap::new();
    for f in c.file_list(&id).await.ok().as_array().unwrap().clone() {
        let name = f["name"].as_str().unwrap().to_string();
        let info = c.prepare(&id, &name, None).await.ok().clone();
        assert_eq!(info["status"], "PREPARED", "{info}");
        sizes.insert(name.clone(), info["size"].as_u64().unwrap());
        uris.insert(
            name,
            info["download_endpoint"]["uri"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let names: Vec<&str> = uris.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["photon-5-disk1.vmdk", "photon-5.mf", "photon-5.ovf"],
        "the demo item's files"
    );
    let get = |name: &str| {
        let (http, uri) = (c.http.clone(), uris[name].clone());
        async move { http.get(&uri).send().await.unwrap().text().await.unwrap() }
    };

    // The descriptor: an OVF envelope whose References, DiskSection and VirtualSystem agree.
    let ovf = get("photon-5.ovf").await;
    assert_eq!(
        ovf.len() as u64,
        sizes["photon-5.ovf"],
        "served at its size"
    );
    assert!(ovf.starts_with("<?xml version=\"1.0\""), "{ovf}");
    let all = elements(&ovf);
    let root = &all[0];
    assert_eq!(root.path, ["Envelope"]);
    assert_eq!(root.attrs["xmlns"], OVF_NS);
    assert_eq!(root.attrs["xmlns:ovf"], OVF_NS);
    let files = at(&all, "Envelope/References/File");
    let disk_file = files
        .iter()
        .find(|f| f.attrs["ovf:href"] == "photon-5-disk1.vmdk")
        .expect("References name the disk");
    let disk_size = sizes["photon-5-disk1.vmdk"];
    assert_eq!(disk_size, 1 << 30);
    assert_eq!(disk_file.attrs["ovf:size"], disk_size.to_string());
    for f in &files {
        let href = &f.attrs["ovf:href"];
        assert!(sizes.contains_key(href), "{href} is a file of the item");
        assert_ne!(
            href, "photon-5.ovf",
            "a descriptor does not reference itself"
        );
    }
    let disks = at(&all, "Envelope/DiskSection/Disk");
    assert_eq!(disks.len(), 1, "{disks:?}");
    let disk = disks[0];
    assert_eq!(disk.attrs["ovf:fileRef"], disk_file.attrs["ovf:id"]);
    assert_eq!(disk.attrs["ovf:capacity"], disk_size.to_string());
    assert_eq!(disk.attrs["ovf:capacityAllocationUnits"], "byte");
    let systems = at(&all, "Envelope/VirtualSystem");
    assert_eq!(systems.len(), 1);
    let host_resources: Vec<&str> = at(
        &all,
        "Envelope/VirtualSystem/VirtualHardwareSection/Item/HostResource",
    )
    .iter()
    .map(|e| e.text.as_str())
    .collect();
    assert_eq!(
        host_resources,
        [format!("ovf:/disk/{}", disk.attrs["ovf:diskId"])],
        "the virtual system attaches the disk"
    );

    // The manifest: a line for every other file, each matching the bytes served.
    let mf = get("photon-5.mf").await;
    assert_eq!(mf.len() as u64, sizes["photon-5.mf"], "served at its size");
    let mut listed = vec![];
    for line in mf.lines() {
        let (name, hex) = line
            .strip_prefix("SHA256(")
            .and_then(|l| l.split_once(")= "))
            .unwrap_or_else(|| panic!("not a manifest line: {line:?}"));
        assert!(
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{line}"
        );
        let (served, n) = sha256_of(&c.http, &uris[name]).await;
        assert_eq!(n, sizes[name], "{name}");
        assert_eq!(hex, served, "{name}: the manifest matches the served bytes");
        listed.push(name.to_string());
    }
    assert_eq!(listed, ["photon-5.ovf", "photon-5-disk1.vmdk"]);
    c.delete(&id).await.done();
}

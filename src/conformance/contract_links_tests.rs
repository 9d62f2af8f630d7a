//! Every rule of the catalogue can be followed: its `doc` link names a section that exists in
//! docs/contract.md, and its VMware reference pages are the ones that document lists. The
//! document's own links resolve too, and nothing the user reads cites a file outside the repo.

use std::collections::BTreeSet;
use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The explicit anchors (`<a id="..."></a>`) of a Markdown document, each once.
fn anchors(doc: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for part in doc.split("<a id=\"").skip(1) {
        let id = part.split('"').next().unwrap().to_string();
        assert!(out.insert(id.clone()), "anchor {id} defined twice");
    }
    out
}

#[test]
fn every_rule_links_to_an_existing_section_and_a_listed_vmware_page() {
    let doc = read("docs/contract.md");
    let ids = anchors(&doc);
    assert!(ids.len() > 20, "{ids:?}");
    let rules = crate::conformance::catalog::rules();
    assert!(rules.len() > 30);
    for r in rules {
        let anchor = r
            .doc
            .strip_prefix("docs/contract.md#")
            .unwrap_or_else(|| panic!("{}: {} is not a docs/contract.md link", r.id, r.doc));
        assert!(ids.contains(anchor), "{}: no section #{anchor}", r.id);
        assert!(!r.api.is_empty(), "{}: no VMware reference", r.id);
        for url in &r.api {
            assert!(url.starts_with("https://"), "{}: {url}", r.id);
            let vmware =
                url.starts_with("https://developer.broadcom.com/xapis/vsphere-automation-api/");
            let jsonrpc = url == "https://www.jsonrpc.org/specification";
            assert!(
                vmware || (jsonrpc && r.id.starts_with("jsonrpc.")),
                "{}: {url}",
                r.id
            );
            assert!(
                doc.contains(&format!("| {url} |")),
                "{}: {url} is not in the reference table of docs/contract.md",
                r.id
            );
        }
    }
}

#[test]
fn the_documents_own_links_resolve() {
    let doc = read("docs/contract.md");
    let ids = anchors(&doc);
    let mut links = 0;
    for part in doc.split("](#").skip(1) {
        let target = part.split(')').next().unwrap();
        assert!(ids.contains(target), "broken link #{target}");
        links += 1;
    }
    assert!(links > 5, "{links}");
    assert!(doc.contains("](../conformance/rules.toml)"));
}

#[test]
fn nothing_a_user_reads_cites_files_outside_the_repository() {
    for path in ["docs/contract.md", "conformance/rules.toml", "README.md"] {
        let text = read(path);
        for banned in ["../shared", "contract §", "shared/spec"] {
            assert!(!text.contains(banned), "{path} cites {banned:?}");
        }
    }
}

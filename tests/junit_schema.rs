//! `dlsim check --format junit` writes JUnit XML that a CI server accepts: it is valid against
//! the Jenkins xUnit plugin's published `junit-10.xsd` (vendored in `tests/xsd/`, see its
//! SOURCE.md), carries each rule's time, and puts the offending exchange in `system-out`.
//!
//! No lean XSD validator exists for Rust, so this file holds a small one for the part of XML
//! Schema that junit-10.xsd uses: global elements referenced from sequences and choices, inline
//! and named complex types (mixed or not), attributes with `use="required"`, string simple types
//! and the `SUREFIRE_TIME` pattern. Anything else in the schema makes the checker panic rather
//! than pass silently.

use std::collections::{BTreeMap, BTreeSet};

use dlsim::Dlsim;
use dlsim::TlsPolicy;
use dlsim::Violation;
use dlsim::{CheckOptions, RuleOutcome as Outcome};
use quick_xml::events::{BytesStart, Event};

/// One element of a parsed document.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<Node>,
    text: String,
}

fn attrs_of(e: &BytesStart) -> BTreeMap<String, String> {
    e.attributes()
        .map(|a| {
            let a = a.expect("well-formed attribute");
            let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .expect("attribute value")
                .into_owned();
            (key, value)
        })
        .collect()
}

/// Parse a whole document into a tree (panics unless it is well-formed).
fn parse(xml: &str) -> Node {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack = vec![Node::default()];
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(Node {
                name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
                attrs: attrs_of(&e),
                ..Node::default()
            }),
            Event::Empty(e) => {
                let node = Node {
                    name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
                    attrs: attrs_of(&e),
                    ..Node::default()
                };
                stack.last_mut().unwrap().children.push(node);
            }
            Event::End(_) => {
                let node = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(node);
            }
            Event::Text(t) => {
                let text = t.decode().unwrap();
                stack.last_mut().unwrap().text.push_str(&text);
            }
            Event::CData(t) => {
                let text = String::from_utf8_lossy(&t).into_owned();
                stack.last_mut().unwrap().text.push_str(&text);
            }
            Event::GeneralRef(r) => {
                let c = match r.decode().unwrap().as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unexpected entity &{other};"),
                };
                stack.last_mut().unwrap().text.push(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut doc = stack.pop().unwrap();
    assert_eq!(doc.children.len(), 1, "one root element");
    doc.children.pop().unwrap()
}

/// What the schema says about one element.
#[derive(Debug, Default, Clone)]
struct Decl {
    /// Attribute name -> (required, type name).
    attrs: BTreeMap<String, (bool, String)>,
    /// Child elements allowed, each with its maxOccurs (None: unbounded).
    children: BTreeMap<String, Option<usize>>,
    /// Whether text content is allowed.
    text: bool,
}

struct Schema {
    elements: BTreeMap<String, Decl>,
}

fn occurs(n: &Node, key: &str, inherited: Option<usize>) -> Option<usize> {
    match n.attrs.get(key).map(String::as_str) {
        Some("unbounded") => None,
        Some(v) => Some(v.parse().unwrap()),
        None => inherited,
    }
}

impl Schema {
    fn load(xsd: &str) -> Schema {
        let root = parse(xsd);
        assert_eq!(root.name, "xs:schema");
        let mut types: BTreeMap<String, &Node> = BTreeMap::new();
        let mut simple: BTreeSet<String> = BTreeSet::new();
        for n in &root.children {
            match n.name.as_str() {
                "xs:complexType" => {
                    types.insert(n.attrs["name"].clone(), n);
                }
                "xs:simpleType" => {
                    simple.insert(n.attrs["name"].clone());
                }
                _ => {}
            }
        }
        let mut elements = BTreeMap::new();
        for n in root.children.iter().filter(|n| n.name == "xs:element") {
            let name = n.attrs["name"].clone();
            let decl = match n.attrs.get("type").map(String::as_str) {
                Some("xs:string") => Decl {
                    text: true,
                    ..Decl::default()
                },
                Some(t) => Self::complex(types.get(t).unwrap_or_else(|| panic!("type {t}"))),
                None => {
                    let ct = n
                        .children
                        .iter()
                        .find(|c| c.name == "xs:complexType")
                        .unwrap_or_else(|| panic!("element {name} has no type"));
                    Self::complex(ct)
                }
            };
            elements.insert(name, decl);
        }
        let schema = Schema { elements };
        for decl in schema.elements.values() {
            for (_, ty) in decl.attrs.values() {
                assert!(
                    ty == "xs:string" || simple.contains(ty),
                    "unsupported attribute type {ty}"
                );
            }
        }
        schema
    }

    fn complex(ct: &Node) -> Decl {
        let mut d = Decl {
            text: ct.attrs.get("mixed").is_some_and(|m| m == "true"),
            ..Decl::default()
        };
        fn particles(n: &Node, max: Option<usize>, d: &mut Decl) {
            for c in &n.children {
                match c.name.as_str() {
                    "xs:sequence" | "xs:choice" => particles(c, occurs(c, "maxOccurs", max), d),
                    "xs:element" => {
                        let name = c.attrs.get("ref").or(c.attrs.get("name")).unwrap().clone();
                        let own = occurs(c, "maxOccurs", Some(1));
                        // Within a repeated group the bound multiplies: keep it simple and
                        // treat any repetition from the group as unbounded.
                        let bound = if max == Some(1) { own } else { None };
                        d.children.insert(name, bound);
                    }
                    "xs:attribute" => {
                        let required = c.attrs.get("use").is_some_and(|u| u == "required");
                        d.attrs
                            .insert(c.attrs["name"].clone(), (required, c.attrs["type"].clone()));
                    }
                    other => panic!("unsupported schema construct {other}"),
                }
            }
        }
        particles(ct, Some(1), &mut d);
        d
    }

    /// Every way `node` (and its subtree) breaks the schema.
    fn validate(&self, node: &Node, out: &mut Vec<String>) {
        let Some(decl) = self.elements.get(&node.name) else {
            out.push(format!("<{}> is not declared", node.name));
            return;
        };
        for (name, value) in &node.attrs {
            match decl.attrs.get(name) {
                None => out.push(format!("<{}> has undeclared attribute {name}", node.name)),
                Some((_, ty)) if ty == "SUREFIRE_TIME" && !surefire_time(value) => out.push(
                    format!("<{}> {name}={value:?} is not a SUREFIRE_TIME", node.name),
                ),
                Some(_) => {}
            }
        }
        for (name, (required, _)) in &decl.attrs {
            if *required && !node.attrs.contains_key(name) {
                out.push(format!("<{}> lacks required attribute {name}", node.name));
            }
        }
        if !decl.text && !node.text.trim().is_empty() {
            out.push(format!("<{}> may not hold text", node.name));
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &node.children {
            *counts.entry(c.name.as_str()).or_default() += 1;
            match decl.children.get(&c.name) {
                None => out.push(format!("<{}> may not contain <{}>", node.name, c.name)),
                Some(_) => self.validate(c, out),
            }
        }
        for (name, n) in counts {
            if let Some(Some(max)) = decl.children.get(name) {
                if n > *max {
                    out.push(format!("<{}> has {n} <{name}>, at most {max}", node.name));
                }
            }
        }
    }
}

/// junit-10.xsd's SUREFIRE_TIME: `(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?`, which for
/// the numbers written here means digits, optionally a dot and more digits.
fn surefire_time(v: &str) -> bool {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    int.bytes().all(|b| b.is_ascii_digit() || b == b',') && frac.bytes().all(|b| b.is_ascii_digit())
}

fn schema() -> Schema {
    Schema::load(include_str!("xsd/junit-10.xsd"))
}

fn errors(xml: &str) -> Vec<String> {
    let mut out = vec![];
    schema().validate(&parse(xml), &mut out);
    out
}

#[test]
fn the_checker_catches_what_the_schema_forbids() {
    let good = r#"<testsuites name="x" time="0.5"><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="c" time="1.000"><system-out>hi</system-out></testcase></testsuite></testsuites>"#;
    assert_eq!(errors(good), Vec::<String>::new());
    for (bad, why) in [
        (
            good.replace(r#" time="0.5""#, r#" time="soon""#),
            "SUREFIRE_TIME",
        ),
        (
            good.replace(r#" tests="1""#, ""),
            "lacks required attribute tests",
        ),
        (
            good.replace("<testcase ", "<testcase bogus=\"1\" "),
            "undeclared attribute bogus",
        ),
        (
            good.replace("<system-out>", "<stdout>")
                .replace("</system-out>", "</stdout>"),
            "may not contain <stdout>",
        ),
        (
            good.replace("<testsuites ", "<testsuites skipped=\"0\" "),
            "undeclared attribute skipped",
        ),
        (
            good.replace("><testsuite ", ">text<testsuite "),
            "may not hold text",
        ),
    ] {
        let found = errors(&bad);
        assert!(found.iter().any(|e| e.contains(why)), "{why}: {found:?}");
    }
}

#[tokio::test]
async fn a_junit_report_with_failures_and_skips_is_valid_junit_10() {
    // Over plain HTTP the thumbprint rule is skipped; the broken list filter fails.
    let fake = Dlsim::builder()
        .violate(Violation::ListFilter)
        .start()
        .await;
    let mut o = CheckOptions::new(fake.base_url(), fake.username(), fake.password());
    o.tls = TlsPolicy::Insecure;
    let r = dlsim::check(&o, |_| {}).await.expect("the check runs");
    assert!(r.count(Outcome::Fail) > 0 && r.count(Outcome::Skip) > 0);

    for strict in [false, true] {
        let xml = r.junit(strict);
        let found = errors(&xml);
        assert!(found.is_empty(), "{found:#?}\n{xml}");

        let root = parse(&xml);
        let cases: Vec<&Node> = root
            .children
            .iter()
            .flat_map(|s| s.children.iter())
            .filter(|c| c.name == "testcase")
            .collect();
        assert_eq!(cases.len(), r.results.len());
        for result in &r.results {
            let case = cases
                .iter()
                .find(|c| {
                    c.attrs["classname"] == format!("dlsim.check.{}", result.form.name())
                        && c.attrs["name"].starts_with(&format!("{} [", result.rule.id))
                })
                .unwrap_or_else(|| panic!("no test case for {}", result.rule.id));
            let time: f64 = case.attrs["time"].parse().unwrap();
            assert!(
                (time - result.seconds).abs() < 0.001,
                "{time} {}",
                result.seconds
            );
        }
        let failed = cases
            .iter()
            .find(|c| c.attrs["name"].starts_with("lifecycle.list-filter"))
            .expect("the list filter rule");
        assert!(failed.children.iter().any(|c| c.name == "failure"));
        let out = failed
            .children
            .iter()
            .find(|c| c.name == "system-out")
            .expect("the offending exchange");
        assert!(out.text.contains("request: GET "), "{}", out.text);
        assert!(out.text.contains("answer:  HTTP 200"), "{}", out.text);
    }
    let total: f64 = r.results.iter().map(|x| x.seconds).sum();
    assert!(
        total > 0.0 && total <= r.seconds,
        "{total} of {}",
        r.seconds
    );
}

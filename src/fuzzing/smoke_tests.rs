//! A bounded, seeded fuzzing smoke test on the stable toolchain: a few thousand random and
//! mutated inputs into each parser a client or user can reach (the `/api` and `/rest`
//! decoders, the scenario and configuration loaders), through the same entry points as the
//! cargo-fuzz targets in `fuzz/` (`crate::fuzzing`). No input may panic, and every refusal
//! must be well-formed (a 4xx error whose body passes the form's schema; a loader error that
//! says why). The seed is fixed, so a failure replays; `DLSIM_FUZZ_SEED` tries another.
//!
//! Crashes found become named regression tests at the end of this file.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::fuzzing::{self, Input};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const ROUNDS: usize = 3000;

fn rng(salt: u64) -> StdRng {
    let seed = std::env::var("DLSIM_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_d151);
    StdRng::seed_from_u64(seed ^ salt)
}

const ITEM: &str = "b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b";
const SESSION: &str = "2cf33517-0e5c-4f1e-9a55-6f3a0e9b1c11";
const LIBRARY: &str = "6f0c5d2e-8a1b-4c3d-9e7f-0a1b2c3d4e5f";
const BASIC: &[u8] = b"Basic YWRtaW5pc3RyYXRvckB2c3BoZXJlLmxvY2FsOlZNd2FyZTEh";
const TOKEN: &[u8] = b"0123456789abcdef0123456789abcdef";

/// Known-good requests of a form, as fuzz inputs.
fn seeds(api: bool) -> Vec<Vec<u8>> {
    let s = SESSION;
    let auth: &[(&str, &[u8])] = &[("vmware-api-session-id", TOKEN)];
    let e = Input::encode;
    if api {
        let ds = "/api/content/library/item/download-session";
        vec![
            e("POST", "/api/session", &[("authorization", BASIC)], b""),
            e("GET", "/api/session", auth, b""),
            e("DELETE", "/api/session", auth, b""),
            e("GET", "/api/content/library", auth, b""),
            e("GET", &format!("/api/content/library/{LIBRARY}"), auth, b""),
            e(
                "GET",
                &format!("/api/content/library/item?library_id={LIBRARY}"),
                auth,
                b"",
            ),
            e(
                "GET",
                &format!("/api/content/library/item/{ITEM}"),
                auth,
                b"",
            ),
            e(
                "POST",
                ds,
                &[("vmware-api-session-id", TOKEN), ("client-token", b"ct-1")],
                format!(r#"{{"library_item_id":"{ITEM}"}}"#).as_bytes(),
            ),
            e("GET", &format!("{ds}?library_item_id={ITEM}"), auth, b""),
            e("GET", &format!("{ds}/{s}"), auth, b""),
            e("DELETE", &format!("{ds}/{s}"), auth, b""),
            e(
                "POST",
                &format!("{ds}/{s}?action=keep-alive"),
                auth,
                br#"{"progress":50}"#,
            ),
            e("POST", &format!("{ds}/{s}?action=cancel"), auth, b""),
            e(
                "POST",
                &format!("{ds}/{s}?action=fail"),
                auth,
                br#"{"client_error_message":"disk full"}"#,
            ),
            e("GET", &format!("{ds}/{s}/file"), auth, b""),
            e(
                "GET",
                &format!("{ds}/{s}/file?file_name=photon-5.ovf"),
                auth,
                b"",
            ),
            e(
                "GET",
                &format!("{ds}/{s}/file?file_name"),
                auth,
                br#"{"file_name":"photon-5.mf"}"#,
            ),
            e(
                "POST",
                &format!("{ds}/{s}/file?action=prepare"),
                auth,
                br#"{"file_name":"photon-5.ovf","endpoint_type":"HTTPS"}"#,
            ),
        ]
    } else {
        let r = "/rest/com/vmware";
        let ds = format!("{r}/content/library/item/download-session");
        let file = format!("{r}/content/library/item/downloadsession/file");
        vec![
            e(
                "POST",
                &format!("{r}/cis/session"),
                &[
                    ("authorization", BASIC),
                    ("vmware-use-header-authn", b"true"),
                ],
                b"",
            ),
            e("POST", &format!("{r}/cis/session?~action=get"), auth, b""),
            e(
                "DELETE",
                &format!("{r}/cis/session"),
                &[("cookie", b"vmware-api-session-id=abc")],
                b"",
            ),
            e("GET", &format!("{r}/content/library"), auth, b""),
            e(
                "POST",
                &format!("{r}/content/library?~action=find"),
                auth,
                br#"{"spec":{"name":"dlsim-demo","type":"LOCAL"}}"#,
            ),
            e(
                "GET",
                &format!("{r}/content/library/id:{LIBRARY}"),
                auth,
                b"",
            ),
            e(
                "GET",
                &format!("{r}/content/library/item?library_id={LIBRARY}"),
                auth,
                b"",
            ),
            e(
                "POST",
                &format!("{r}/content/library/item?~action=find"),
                auth,
                format!(
                    r#"{{"spec":{{"name":"photon-5-ovf","library_id":"{LIBRARY}","cached":true}}}}"#
                )
                .as_bytes(),
            ),
            e(
                "GET",
                &format!("{r}/content/library/item/id:{ITEM}"),
                auth,
                b"",
            ),
            e(
                "POST",
                &ds,
                auth,
                format!(r#"{{"client_token":"ct","create_spec":{{"library_item_id":"{ITEM}"}}}}"#)
                    .as_bytes(),
            ),
            e("GET", &format!("{ds}?library_item_id={ITEM}"), auth, b""),
            e("GET", &format!("{ds}/id:{s}"), auth, b""),
            e("DELETE", &format!("{ds}/id:{s}"), auth, b""),
            e(
                "POST",
                &format!("{ds}/id:{s}?~action=keep-alive"),
                auth,
                br#"{"progress":5}"#,
            ),
            e("POST", &format!("{ds}/id:{s}?~action=cancel"), auth, b""),
            e("POST", &format!("{ds}/id:{s}?~action=fail"), auth, b""),
            e("GET", &format!("{file}?download_session_id={s}"), auth, b""),
            e(
                "POST",
                &format!("{file}/id:{s}?~action=get"),
                auth,
                br#"{"file_name":"photon-5.ovf"}"#,
            ),
            e(
                "POST",
                &format!("{file}/id:{s}?~action=prepare"),
                auth,
                br#"{"file_name":"photon-5.ovf","endpoint_type":"DIRECT"}"#,
            ),
        ]
    }
}

const METHODS: &[&str] = &[
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "HEAD",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "get",
    "post",
    "BREW",
    "",
    "P OST",
    "\u{1F600}",
    "GET\0",
];

const PATH_BITS: &[&str] = &[
    "%",
    "%2",
    "%zz",
    "%ff",
    "%FF%FE",
    "%00",
    "%C0%AF",
    "%2e%2e%2f",
    "..%2F",
    "%2F",
    "//",
    "/./",
    "/../",
    "/..",
    "id:",
    "id:%ff",
    ";",
    "%25",
    "%u002e",
    "\u{202e}",
    "\u{0}",
    "?",
    "#",
];

const NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "18446744073709551616",
    "1180591620717411303424",
    "-9223372036854775809",
    "9223372036854775807",
    "-0",
    "0.0000001",
    "1E+2",
    "NaN",
    "Infinity",
    "00012",
    "0x10",
];

const QUERIES: &[&str] = &[
    "",
    "action",
    "action=",
    "action=%ff",
    "~action=get&~action=prepare",
    "file_name=&file_name=x",
    "library_item_id=%ff",
    "a=b&&&&",
    "=",
    "%",
    "action=keep-alive&action=cancel",
    "download_session_id",
    "~action=find%00",
];

/// Nested JSON `depth` deep.
fn deep(rng: &mut StdRng, depth: usize) -> Vec<u8> {
    if rng.random_bool(0.5) {
        let mut v = vec![b'['; depth];
        v.extend(std::iter::repeat_n(b']', depth));
        v
    } else {
        let mut v = b"{\"spec\":".repeat(depth);
        v.push(b'1');
        v.extend(std::iter::repeat_n(b'}', depth));
        v
    }
}

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

fn one_of(rng: &mut StdRng, bytes: &[u8]) -> u8 {
    bytes[rng.random_range(0..bytes.len())]
}

/// One mutation of a request seed.
fn mutate_request(rng: &mut StdRng, seed: &[u8]) -> Vec<u8> {
    let input = Input::parse(seed);
    let mut method = input.method.clone();
    let mut path = input.path.clone();
    let mut query = input.query.clone();
    let mut headers: Vec<(String, Vec<u8>)> = input
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    let mut body = input.body.clone();
    for _ in 0..rng.random_range(1..=3) {
        match rng.random_range(0..12) {
            0 if !body.is_empty() => {
                for _ in 0..rng.random_range(1..4) {
                    let i = rng.random_range(0..body.len());
                    body[i] ^= 1 << rng.random_range(0..8);
                }
            }
            1 => body.truncate(rng.random_range(0..=body.len())),
            2 => {
                let depth = [2, 64, 127, 128, 129, 1000, 10_000, 100_000][rng.random_range(0..8)];
                body = deep(rng, depth);
            }
            3 => {
                let n = pick(rng, NUMBERS);
                let text = String::from_utf8_lossy(&body).to_string();
                body = match text.find(|c: char| c.is_ascii_digit() || c == '"') {
                    Some(i) => format!("{}{n}{}", &text[..i], &text[i + 1..]).into_bytes(),
                    None => format!(r#"{{"progress":{n}}}"#).into_bytes(),
                };
            }
            4 => {
                let i = rng.random_range(0..=body.len());
                let bad: &[u8] = [
                    &b"\xff"[..],
                    b"\xc3",
                    b"\xed\xa0\x80",
                    b"\x00",
                    b"\\u",
                    b"\"\\ud800\"",
                ][rng.random_range(0..6)];
                body.splice(i..i, bad.iter().copied());
            }
            5 => method = pick(rng, METHODS).to_string(),
            6 => {
                let bit = pick(rng, PATH_BITS);
                let cuts: Vec<usize> = path.match_indices('/').map(|(i, _)| i).collect();
                let at = cuts
                    .get(rng.random_range(0..cuts.len().max(1)))
                    .copied()
                    .unwrap_or(0);
                path.insert_str(at.min(path.len()), bit);
            }
            7 => {
                let cut = rng.random_range(0..=path.len());
                if path.is_char_boundary(cut) {
                    path.truncate(cut);
                }
            }
            8 => query = Some(pick(rng, QUERIES).to_string()),
            9 if !headers.is_empty() => {
                headers.remove(rng.random_range(0..headers.len()));
            }
            10 => {
                let values: [&[u8]; 6] = [
                    b"Basic %%%",
                    b"Basic YTpi",
                    b"Basic ",
                    b"bAsIc OjpA",
                    b"Negotiate abc",
                    b"Basic \xff\xfe",
                ];
                headers.push((
                    "authorization".into(),
                    values[rng.random_range(0..values.len())].to_vec(),
                ));
            }
            11 => {
                let name = [
                    "vmware-api-session-id",
                    "cookie",
                    "client-token",
                    "vmware-use-header-authn",
                ][rng.random_range(0..4)];
                let len = [0, 1, 32, 4096][rng.random_range(0..4)];
                let v: Vec<u8> = (0..len).map(|_| rng.random_range(0x20..0x7f)).collect();
                headers.push((name.into(), v));
            }
            _ => body = (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
        }
    }
    let target = match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let headers: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    Input::encode(&method, &target, &headers, &body)
}

/// Random bytes, sometimes shaped like a request.
fn random_input(rng: &mut StdRng, prefix: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if rng.random_bool(0.5) {
        out.extend_from_slice(format!("{} {prefix}", pick(rng, METHODS)).as_bytes());
    }
    out.extend((0..rng.random_range(0..200)).map(|_| -> u8 {
        if rng.random_bool(0.3) {
            one_of(rng, b"/:?=&%\n{}[]\"")
        } else {
            rng.random()
        }
    }));
    out
}

/// Run `target` on `input`, turning a panic into a failure that shows the input.
fn run(name: &str, target: fn(&[u8]), input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
        panic!(
            "{name} panicked on input {:?}\n(as text: {})",
            input,
            String::from_utf8_lossy(input)
        );
    }
}

fn fuzz_decoder(name: &str, target: fn(&[u8]), api: bool, salt: u64) {
    let prefix = if api { "/api/" } else { "/rest/com/vmware/" };
    fuzz_requests(name, target, &seeds(api), prefix, salt);
}

/// The seeds themselves, then mutations of them and random requests under `prefix`.
fn fuzz_requests(name: &str, target: fn(&[u8]), seeds: &[Vec<u8>], prefix: &str, salt: u64) {
    let mut rng = rng(salt);
    for s in seeds {
        run(name, target, s);
    }
    for i in 0..ROUNDS {
        let input = if i % 5 == 4 {
            random_input(&mut rng, prefix)
        } else {
            let seed = &seeds[rng.random_range(0..seeds.len())];
            mutate_request(&mut rng, seed)
        };
        run(name, target, &input);
    }
}

#[test]
fn api_decoder_survives_random_and_mutated_requests() {
    fuzz_decoder("api_decoder", fuzzing::api_decoder, true, 1);
}

#[test]
fn rest_decoder_survives_random_and_mutated_requests() {
    fuzz_decoder("rest_decoder", fuzzing::rest_decoder, false, 2);
}

#[test]
fn jsonrpc_decoder_survives_random_and_mutated_calls() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/captures/requests");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .map(|body| Input::encode("POST", "/api", &[], &body))
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 20, "the SDK captures are the seeds");
    fuzz_requests(
        "jsonrpc_decoder",
        fuzzing::jsonrpc_decoder,
        &seeds,
        "/api",
        3,
    );
}

/// Scenario and configuration texts: the shelf, the README's examples, and bits of TOML.
fn texts(scenarios: bool) -> Vec<String> {
    if scenarios {
        crate::faults::scenario::SHELF
            .iter()
            .map(|(_, t)| t.to_string())
            .collect()
    } else {
        vec![
            crate::config::documented_example(),
            "seed = 7\nidle_timeout_secs = 60\n[[users]]\nname = \"a\"\npassword = \"b\"\n".into(),
            "[tls]\nenabled = true\n[prepare]\nrequested_ms = 1\n".into(),
        ]
    }
}

const TOML_BITS: &[&str] = &[
    "= ",
    "[[",
    "]]",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'''",
    "\"\"\"",
    "\\u{D800}",
    "\\",
    "\n",
    "#",
    ",",
    "=[",
    "x = ",
    "[faults]",
    "[[faults]]",
    "[expect]",
    "apply = [\"x\"]",
    "kind = \"nope\"",
    "what = {}",
    "when = { op = 1 }",
    "seed = -1",
    "1979-05-27T07:32:00Z",
    "inf",
    "nan",
    "+",
    "_",
    "\u{0}",
    "\u{FFFD}",
    "\r",
    "\t",
    "0x",
    "0o8",
    "1__0",
    "ms = 18446744073709551616",
    "status = 99999999999999999999999",
    "1e400",
    "-0.0",
    "times = -1",
    "probability = 2",
];

fn mutate_text(rng: &mut StdRng, text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..=3) {
        match rng.random_range(0..6) {
            0 if !bytes.is_empty() => {
                let i = rng.random_range(0..bytes.len());
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            1 => bytes.truncate(rng.random_range(0..=bytes.len())),
            2 => {
                let i = rng.random_range(0..=bytes.len());
                bytes.splice(i..i, pick(rng, TOML_BITS).bytes());
            }
            3 => {
                let depth = [16, 127, 128, 129, 1000, 10_000, 100_000][rng.random_range(0..7)];
                let deep = if rng.random_bool(0.5) {
                    format!("x = {}{}\n", "[".repeat(depth), "]".repeat(depth))
                } else {
                    format!("x = {}1{}\n", "{a=".repeat(depth), "}".repeat(depth))
                };
                let i = if rng.random_bool(0.5) { 0 } else { bytes.len() };
                bytes.splice(i..i, deep.bytes());
            }
            4 => {
                let i = rng.random_range(0..=bytes.len());
                bytes.splice(i..i, [0xff, 0xfe]);
            }
            _ => {
                // A number replaced by a huge or odd one.
                let text = String::from_utf8_lossy(&bytes).to_string();
                let digits: Vec<usize> = text
                    .match_indices(|c: char| c.is_ascii_digit())
                    .map(|(i, _)| i)
                    .collect();
                if let Some(&i) = digits.get(rng.random_range(0..digits.len().max(1))) {
                    let n = pick(rng, NUMBERS);
                    bytes = format!("{}{n}{}", &text[..i], &text[i + 1..]).into_bytes();
                }
            }
        }
    }
    bytes
}

fn fuzz_loader(name: &str, target: fn(&[u8]), scenarios: bool, salt: u64) {
    let mut rng = rng(salt);
    let texts = texts(scenarios);
    for t in &texts {
        run(name, target, t.as_bytes());
    }
    for i in 0..ROUNDS / 2 {
        let input = if i % 5 == 4 {
            (0..rng.random_range(0..300))
                .map(|_| -> u8 {
                    if rng.random_bool(0.5) {
                        one_of(&mut rng, b"[]{}=\"'\n.,#ax1")
                    } else {
                        rng.random()
                    }
                })
                .collect()
        } else {
            let t = &texts[rng.random_range(0..texts.len())];
            mutate_text(&mut rng, t)
        };
        run(name, target, &input);
    }
}

#[test]
fn scenario_parser_survives_random_and_mutated_scenarios() {
    fuzz_loader("scenario_parser", fuzzing::scenario_parser, true, 3);
}

#[test]
fn config_parser_survives_random_and_mutated_configurations() {
    fuzz_loader("config_parser", fuzzing::config_parser, false, 4);
}

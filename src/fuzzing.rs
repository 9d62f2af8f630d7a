//! Fuzzing entry points, shared by the cargo-fuzz targets in `fuzz/` (nightly, libFuzzer) and
//! the bounded smoke test that runs in every `cargo test` on stable (`src/fuzzing/smoke_tests.rs`).
//!
//! Each entry point takes arbitrary bytes, feeds them to one of the parsers that read what a
//! client or a user sends (the `/api` and `/rest` decoders, the scenario and configuration
//! loaders) and panics only when that parser panicked or refused the input in a malformed way:
//! a decoder's refusal must be a 4xx error whose body passes the form's error schema.
//!
//! A request is written as bytes the way it comes off the wire, minus HTTP framing:
//! `METHOD SP TARGET LF`, one `NAME: VALUE LF` per header, an empty line, then the body.
//! Header lines that hyper would refuse are dropped; a path that is not UTF-8 is read lossily
//! (hyper hands the decoders ASCII paths only).

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::op::{self, RawRequest, Request};
use crate::wire::Form;

/// A request read from fuzz input.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Input {
    /// Read bytes in the format above; any bytes give some input.
    pub fn parse(data: &[u8]) -> Input {
        let (line, mut rest) = split_line(data);
        let line = String::from_utf8_lossy(line);
        let (method, target) = line.split_once(' ').unwrap_or((&line, ""));
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q.to_string())),
            None => (target, None),
        };
        let mut headers = HeaderMap::new();
        loop {
            let (l, r) = split_line(rest);
            rest = r;
            if l.is_empty() {
                break;
            }
            let Some(colon) = l.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&l[..colon], l[colon + 1..].trim_ascii());
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
                headers.append(n, v);
            }
        }
        Input {
            method: method.to_string(),
            path: path.to_string(),
            query,
            headers,
            body: rest.to_vec(),
        }
    }

    /// Write a request in the format above (the inverse of [`Input::parse`] for well-formed
    /// parts): how seeds and mutations are made.
    pub fn encode(method: &str, target: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
        let mut out = format!("{method} {target}\n").into_bytes();
        for (k, v) in headers {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(body);
        out
    }

    pub(crate) fn raw(&self) -> RawRequest<'_> {
        RawRequest {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        }
    }
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Whether a decoded request is well-formed: in its form, named after its operation when it
/// decoded, and when refused, refused with a 4xx error whose body passes the form's schema.
pub(crate) fn check_request(form: Form, req: &Request) -> Result<(), String> {
    if req.form != form {
        return Err(format!("decoded as {:?}, not {form:?}", req.form));
    }
    match &req.op {
        Ok(op) if req.name != Some(op.name()) => {
            Err(format!("{:?} is named {:?}", op.name(), req.name))
        }
        Ok(_) => Ok(()),
        Err(r) if form == Form::JsonRpc => match r.protocol {
            Some((code, _)) if (-32700..=-32600).contains(&code) => Ok(()),
            Some((code, _)) => Err(format!("protocol error with the unknown code {code}")),
            None => {
                let body = form.error(&r.error).body.unwrap_or_default();
                crate::schemas::validate("jsonrpc/error", &body["error"])
                    .map_err(|v| format!("the error breaks jsonrpc/error: {v:?}\n{body}"))
            }
        },
        Err(r) => {
            let reply = form.error(&r.error);
            let status = r.status.unwrap_or(reply.status);
            if !(400..500).contains(&status) {
                return Err(format!("refused with {status}, not a 4xx: {:?}", r.error));
            }
            if r.error.messages.is_empty() {
                return Err(format!("refused without a message: {:?}", r.error));
            }
            let schema = match form {
                Form::Api => "api/error",
                Form::Rest | Form::SdkRest | Form::JsonRpc => "rest/error",
            };
            let body = reply.body.unwrap_or_default();
            crate::schemas::validate(schema, &body).map_err(|v| {
                let list: Vec<String> = v.iter().map(|v| v.to_string()).collect();
                format!(
                    "the error body breaks {schema}: {}\n{body}",
                    list.join("; ")
                )
            })
        }
    }
}

fn decoder(form: Form, data: &[u8]) {
    let input = Input::parse(data);
    let raw = input.raw();
    let req = match form {
        Form::Api => op::api::decode(&raw),
        Form::Rest => op::rest::decode(&raw),
        Form::SdkRest => op::api::decode_as(&raw, form, "/sdk-rest/api"),
        Form::JsonRpc => op::jsonrpc::decode(raw.body),
    };
    if let Err(why) = check_request(form, &req) {
        panic!("{why}\ninput: {input:?}");
    }
}

/// The `/api` decoder on one input.
pub fn api_decoder(data: &[u8]) {
    decoder(Form::Api, data)
}

/// The `/rest` decoder on one input.
pub fn rest_decoder(data: &[u8]) {
    decoder(Form::Rest, data)
}

/// The JSON-RPC decoder on one input (its body).
pub fn jsonrpc_decoder(data: &[u8]) {
    decoder(Form::JsonRpc, data)
}

/// The scenario loader on one text (read lossily): a refusal must say where it came from and why.
pub fn scenario_parser(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = crate::faults::scenario::Scenario::parse(&text, "fuzz.toml") {
        let m = e.to_string();
        let prefix = "scenario fuzz.toml is not valid: ";
        assert!(
            m.starts_with(prefix) && m.len() > prefix.len(),
            "a malformed refusal: {m:?}"
        );
    }
}

/// The configuration loader on one text (read lossily): a refusal must say why.
pub fn config_parser(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(m) = crate::config::FileConfig::parse(&text) {
        assert!(!m.trim().is_empty(), "a refusal without a reason");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_round_trips_through_its_format() {
        let bytes = Input::encode(
            "POST",
            "/api/x?action=keep-alive",
            &[("vmware-api-session-id", b"abc")],
            b"{\"progress\":5}\n",
        );
        let i = Input::parse(&bytes);
        assert_eq!(i.method, "POST");
        assert_eq!(i.path, "/api/x");
        assert_eq!(i.query.as_deref(), Some("action=keep-alive"));
        assert_eq!(i.headers["vmware-api-session-id"], "abc");
        assert_eq!(i.body, b"{\"progress\":5}\n");
        // Anything parses to something.
        for data in [
            &b""[..],
            b"\n",
            b"\n\n\n",
            b"\xff\xfe \xff?\xff\n\xff: \xff\n\n\xff",
        ] {
            let _ = Input::parse(data);
        }
    }
}

#[cfg(test)]
mod smoke_tests;

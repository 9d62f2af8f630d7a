//! dlsim's own encoders against the hand-written fixtures: every valid model fixture decodes
//! with the right map style and encodes back to the same document, the other style refuses
//! any document that holds a map, and the ERROR-state File.Info with nested params is
//! snapshotted in both encodings.

use std::path::Path;

use crate::model::*;
use crate::wire::json::MapStyle;
use crate::wire::{decode_model, encode_model};
use serde_json::{json, Value};

fn roundtrip<T: VapiType>(doc: &Value, style: MapStyle) -> Result<Value, DecodeError> {
    decode_model::<T>(doc, style).map(|v| encode_model(&v, style))
}

/// Decode `doc` as the model type named by its fixture directory and encode it back.
fn roundtrip_kind(kind: &str, doc: &Value, style: MapStyle) -> Option<Result<Value, DecodeError>> {
    Some(match kind {
        "download_session_model" => roundtrip::<DownloadSessionModel>(doc, style),
        "file_info" => roundtrip::<FileInfo>(doc, style),
        "transfer_endpoint" => roundtrip::<TransferEndpoint>(doc, style),
        "checksum_info" => roundtrip::<ChecksumInfo>(doc, style),
        "localizable_message" => roundtrip::<LocalizableMessage>(doc, style),
        "localization_param" => roundtrip::<LocalizationParam>(doc, style),
        "nested_localizable_message" => roundtrip::<NestedLocalizableMessage>(doc, style),
        "session_info" => roundtrip::<SessionInfo>(doc, style),
        "error" => match style {
            MapStyle::Object => roundtrip::<VapiError>(doc, style),
            MapStyle::EntryList => crate::wire::rest::decode_error(doc).map(|e| {
                let mut back = crate::wire::Form::Rest.error_body(&e);
                // dlsim always adds `error_type` inside `value` (as vCenter 7.0U3+ does).
                if doc["value"].get("error_type").is_none() {
                    assert_eq!(back["value"]["error_type"], e.error_type.as_str());
                    back["value"].as_object_mut().unwrap().remove("error_type");
                }
                back
            }),
        },
        // Library and item fixtures carry fields of the full vSphere types dlsim does not model.
        _ => return None,
    })
}

fn valid_fixtures(form: &str) -> Vec<(String, std::path::PathBuf, Value)> {
    let mut out = vec![];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(form);
    for kind in std::fs::read_dir(&root).unwrap() {
        let kind = kind.unwrap().path();
        let valid = kind.join("valid");
        let Ok(entries) = std::fs::read_dir(&valid) else {
            continue;
        };
        for f in entries {
            let path = f.unwrap().path();
            let doc: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            out.push((
                kind.file_name().unwrap().to_string_lossy().into_owned(),
                path,
                doc,
            ));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Equal documents, where date-times count as equal when they name the same millisecond
/// (dlsim always writes `YYYY-MM-DDThh:mm:ss.sssZ`, whatever form it read).
fn same_document(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_document(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_document(v, w))
        }
        (Value::String(x), Value::String(y)) if x != y => {
            matches!((Timestamp::parse(x), Timestamp::parse(y)), (Some(p), Some(q)) if p == q)
        }
        _ => a == b,
    }
}

fn has_map(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k == "params" || has_map(v)),
        Value::Array(a) => a.iter().any(has_map),
        _ => false,
    }
}

#[test]
fn every_valid_fixture_round_trips_through_its_form() {
    let mut checked = 0;
    for (form, style, other) in [
        ("api", MapStyle::Object, MapStyle::EntryList),
        ("rest", MapStyle::EntryList, MapStyle::Object),
    ] {
        for (kind, path, doc) in valid_fixtures(form) {
            let Some(back) = roundtrip_kind(&kind, &doc, style) else {
                continue;
            };
            let back = back.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                same_document(&back, &doc),
                "{} does not round-trip:\n{back:#}\n{doc:#}",
                path.display()
            );
            if has_map(&doc) {
                let wrong = roundtrip_kind(&kind, &doc, other).unwrap();
                assert!(
                    wrong.is_err(),
                    "{} decoded with the wrong map style",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} fixtures checked");
}

#[test]
fn error_state_file_info_with_nested_params_in_both_encodings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let read = |form: &str| -> Value {
        let p = root
            .join(form)
            .join("file_info/valid/error-with-nested-params.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let from_api: FileInfo = decode_model(&read("api"), MapStyle::Object).unwrap();
    let from_rest: FileInfo = decode_model(&read("rest"), MapStyle::EntryList).unwrap();
    assert_eq!(from_api, from_rest, "the two fixtures hold one model value");
    assert_eq!(from_api.status, PrepareStatus::Error);
    let nested = from_api
        .error_message
        .as_ref()
        .unwrap()
        .params
        .as_ref()
        .unwrap();
    let cause = &nested.0.iter().find(|(k, _)| k == "cause").unwrap().1;
    assert!(
        cause.l.as_ref().unwrap().params.is_some(),
        "params nest through l"
    );

    let api = encode_model(&from_api, MapStyle::Object);
    let rest = encode_model(&from_api, MapStyle::EntryList);
    assert!(api["error_message"]["params"].is_object());
    assert!(rest["error_message"]["params"].is_array());
    insta::assert_json_snapshot!(
        "file_info_error_nested_params",
        json!({"api": api, "rest": rest})
    );
}

#[test]
fn the_comparison_sees_real_differences() {
    let a = json!({"t": "2026-11-23T18:13:15.651123+01:00", "n": 1});
    assert!(same_document(
        &a,
        &json!({"t": "2026-11-23T17:13:15.651Z", "n": 1})
    ));
    assert!(!same_document(
        &a,
        &json!({"t": "2026-11-23T17:13:15.652Z", "n": 1})
    ));
    assert!(!same_document(
        &a,
        &json!({"t": "2026-11-23T17:13:15.651Z", "n": 2})
    ));
    assert!(!same_document(
        &a,
        &json!({"t": "2026-11-23T17:13:15.651Z"})
    ));
}

#[test]
fn an_empty_map_is_an_object_on_api_and_a_list_on_rest() {
    let m = LocalizableMessage {
        params: Some(Map::default()),
        ..LocalizableMessage::new("a.b", "text", vec![])
    };
    assert_eq!(encode_model(&m, MapStyle::Object)["params"], json!({}));
    assert_eq!(encode_model(&m, MapStyle::EntryList)["params"], json!([]));
    let unset = LocalizableMessage::new("a.b", "text", vec![]);
    assert!(encode_model(&unset, MapStyle::Object)
        .get("params")
        .is_none());
}

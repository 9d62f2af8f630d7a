//! Property tests of the two JSON wire forms (`/api`: maps as objects, `/rest`: maps as
//! `[{"key","value"}]` lists) over the contract types, generated at random.
//!
//! For every type and both map styles:
//! 1. `roundtrips`: `decode_model(encode_model(v))` is `v`, also after the JSON went through text;
//! 2. `matches_schema`: the encoding validates against the hand-written schema of its form
//!    (`api/<type>` or `rest/<type>`; a `/rest` error is validated inside its
//!    `{"type", "value"}` wrapper);
//! 3. `forms_differ_only_in_params`: the `/rest` encoding with every `params` entry list
//!    rewritten as an object is the `/api` encoding, and the two encodings are equal exactly
//!    when no `params` map (empty or not) is present;
//! 4. `wrong_map_style_is_refused`: decoding one form's JSON with the other form's map style
//!    fails at a `params` field exactly when a `params` map is present (an empty map is `{}` on
//!    `/api` and `[]` on `/rest`), and otherwise gives back the value.
//!
//! The generators produce schema-valid values only: where the model allows something the schema
//! forbids (an empty id, a URI of another scheme or with spaces, a non-object error `data`, a
//! non-finite double), they keep to what the schema allows. Date-times stay within
//! 1970..=9999: later instants are all written as `9999-12-31T23:59:59.999Z`, and instants
//! before year 0 get a signed year the schema refuses.

use std::collections::HashSet;
use std::fmt::Debug;

use crate::model::{
    ChecksumAlgorithm, ChecksumInfo, DateTimeFormat, DownloadSessionModel, ErrorType, FileInfo,
    LocalizableMessage, LocalizationParam, Map, NestedLocalizableMessage, PrepareStatus,
    SessionInfo, State, Timestamp, TransferEndpoint, VapiError, VapiType,
};
use crate::schemas;
use crate::wire::json::MapStyle;
use crate::wire::{decode_model, encode_model};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map as JsonMap, Value as Json};

// ----------------------------------------------------------------------------------------------
// Bounds of the generators.

/// At most this many `params` maps nest inside one another
/// (`params` → `LocalizationParam.l` → `NestedLocalizableMessage.params` → ...).
const MAX_MAP_DEPTH: u32 = 3;
/// At most this many entries in a map (before duplicate keys are dropped) or items in a list.
const MAX_ENTRIES: usize = 3;
/// At most this many characters in a generated string.
const MAX_CHARS: usize = 8;
/// 9999-12-31T23:59:59.999Z: the last instant with a four-digit year.
const MAX_MILLIS: i64 = 253_402_300_799_999;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        ..ProptestConfig::default()
    }
}

// ----------------------------------------------------------------------------------------------
// Scalars.

/// Characters that JSON escapes or that often trip encoders, and some non-ASCII ones.
const TRICKY_CHARS: &str =
    "\"\\/\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}\u{2028}\u{2029}\u{feff}{}[]:, éßΩ日😀\u{10ffff}";

fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        1 => prop::char::range('0', '9'),
        2 => select(TRICKY_CHARS.chars().collect::<Vec<_>>()),
        2 => any::<char>(),
    ]
}

/// A string of `min..=MAX_CHARS` characters, mostly ASCII letters, with JSON-special and
/// non-ASCII characters mixed in.
fn text(min: usize) -> BoxedStrategy<String> {
    prop::collection::vec(any_char(), min..=MAX_CHARS)
        .prop_map(String::from_iter)
        .boxed()
}

fn long() -> BoxedStrategy<i64> {
    prop_oneof![
        3 => any::<i64>(),
        2 => -1000i64..=1000,
        1 => select(vec![i64::MIN, i64::MAX, 0, -1, 1 << 53, (1 << 53) + 1]),
    ]
    .boxed()
}

/// Any finite double; serde_json writes the shortest form that reads back exactly.
fn double() -> BoxedStrategy<f64> {
    use prop::num::f64 as class;
    prop_oneof![
        4 => class::POSITIVE | class::NEGATIVE | class::NORMAL | class::SUBNORMAL | class::ZERO,
        1 => (-1_000_000i32..=1_000_000).prop_map(f64::from),
        1 => select(vec![
            0.0,
            -0.0,
            0.1,
            1.0 / 3.0,
            1e21,
            1e-7,
            4_503_599_627_370_497.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
        ]),
    ]
    .boxed()
}

/// Instants from 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z.
fn timestamp() -> BoxedStrategy<Timestamp> {
    prop_oneof![
        4 => 0..=MAX_MILLIS,
        1 => select(vec![0, 1, 951_782_400_000, MAX_MILLIS]),
    ]
    .prop_map(Timestamp)
    .boxed()
}

/// An `http`, `https` or `ds` URI without the characters the schema's pattern forbids.
fn uri() -> BoxedStrategy<String> {
    const HOST: &[char] = &['a', 'b', 'z', '0', '9', '.', '-'];
    const PATH: &[char] = &[
        'a', 'Z', '0', '.', '_', '~', '-', '%', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';',
        '=', ':', '@', '?', '#', '[', ']', 'é', '日',
    ];
    let host = prop::collection::vec(select(HOST), 1..=MAX_CHARS).prop_map(String::from_iter);
    let segment = prop::collection::vec(select(PATH), 0..=MAX_CHARS).prop_map(String::from_iter);
    let path = prop::collection::vec(segment, 0..=MAX_ENTRIES).prop_map(|s| s.join("/"));
    let uuid = prop::collection::vec(select(&['0', '7', 'a', 'f', '-'][..]), 1..=MAX_CHARS)
        .prop_map(String::from_iter);
    prop_oneof![
        (
            select(&["http", "https"][..]),
            host,
            prop::option::of(any::<u16>()),
            path.clone()
        )
            .prop_map(|(scheme, host, port, path)| match port {
                Some(port) => format!("{scheme}://{host}:{port}/{path}"),
                None => format!("{scheme}://{host}/{path}"),
            }),
        (uuid, path).prop_map(|(uuid, path)| format!("ds:///vmfs/volumes/{uuid}/{path}")),
    ]
    .boxed()
}

/// A small JSON object (the `data` of an error), nesting at most two levels.
fn json_object() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        long().prop_map(Json::from),
        double().prop_map(Json::from),
        text(0).prop_map(Json::String),
    ];
    let value = leaf.prop_recursive(2, 16, MAX_ENTRIES as u32, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..=MAX_ENTRIES).prop_map(Json::Array),
            prop::collection::vec((text(0), inner), 0..=MAX_ENTRIES)
                .prop_map(|kv| Json::Object(kv.into_iter().collect())),
        ]
    });
    prop::collection::vec((text(0), value), 0..=MAX_ENTRIES)
        .prop_map(|kv| Json::Object(kv.into_iter().collect()))
        .boxed()
}

// ----------------------------------------------------------------------------------------------
// Contract types.

/// Keeps the first entry of each key: a JSON object cannot hold two.
fn dedupe<T>(entries: Vec<(String, T)>) -> Map<T> {
    let mut seen = HashSet::new();
    Map(entries
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect())
}

/// A `params` map whose values nest at most `depth - 1` further maps; `depth >= 1`.
fn params(depth: u32) -> BoxedStrategy<Map<LocalizationParam>> {
    prop::collection::vec((text(1), localization_param(depth - 1)), 0..=MAX_ENTRIES)
        .prop_map(dedupe)
        .boxed()
}

/// `Some(params)` half the time, unless no map may nest here.
fn opt_params(depth: u32) -> BoxedStrategy<Option<Map<LocalizationParam>>> {
    if depth == 0 {
        Just(None).boxed()
    } else {
        prop::option::of(params(depth)).boxed()
    }
}

/// A parameter whose `l` holds at most `depth` nested maps. Any combination of the value fields
/// may be set: "normally exactly one" is neither in the model nor in the schema.
fn localization_param(depth: u32) -> BoxedStrategy<LocalizationParam> {
    let l = if depth == 0 {
        Just(None).boxed()
    } else {
        prop::option::of(nested_message(depth)).boxed()
    };
    (
        prop::option::of(text(0)),
        prop::option::of(timestamp()),
        prop::option::of(long()),
        prop::option::of(double()),
        l,
        prop::option::of(select(DateTimeFormat::ALL)),
        prop::option::of(long()),
    )
        .prop_map(|(s, dt, i, d, l, format, precision)| LocalizationParam {
            s,
            dt,
            i,
            d,
            l,
            format,
            precision,
        })
        .boxed()
}

fn nested_message(depth: u32) -> BoxedStrategy<NestedLocalizableMessage> {
    (text(0), opt_params(depth))
        .prop_map(|(id, params)| NestedLocalizableMessage { id, params })
        .boxed()
}

fn localizable_message() -> BoxedStrategy<LocalizableMessage> {
    (
        text(0),
        text(0),
        prop::collection::vec(text(0), 0..=MAX_ENTRIES),
        opt_params(MAX_MAP_DEPTH),
        prop::option::of(text(0)),
    )
        .prop_map(
            |(id, default_message, args, params, localized)| LocalizableMessage {
                id,
                default_message,
                args,
                params,
                localized,
            },
        )
        .boxed()
}

fn transfer_endpoint() -> BoxedStrategy<TransferEndpoint> {
    (uri(), prop::option::of(text(0)), prop::option::of(text(0)))
        .prop_map(
            |(uri, ssl_certificate_thumbprint, ssl_certificate)| TransferEndpoint {
                uri,
                ssl_certificate_thumbprint,
                ssl_certificate,
            },
        )
        .boxed()
}

fn checksum_info() -> BoxedStrategy<ChecksumInfo> {
    let hex = prop::collection::vec(select(&['0', '9', 'a', 'f'][..]), 0..=40)
        .prop_map(String::from_iter);
    (
        prop::option::of(select(ChecksumAlgorithm::ALL)),
        prop_oneof![hex, text(0)],
    )
        .prop_map(|(algorithm, checksum)| ChecksumInfo {
            algorithm,
            checksum,
        })
        .boxed()
}

fn file_info() -> BoxedStrategy<FileInfo> {
    (
        text(0),
        prop::option::of(long()),
        long(),
        select(PrepareStatus::ALL),
        prop::option::of(transfer_endpoint()),
        prop::option::of(checksum_info()),
        prop::option::of(localizable_message()),
    )
        .prop_map(
            |(name, size, bytes_transferred, status, download_endpoint, checksum_info, error)| {
                FileInfo {
                    name,
                    size,
                    bytes_transferred,
                    status,
                    download_endpoint,
                    checksum_info,
                    error_message: error,
                }
            },
        )
        .boxed()
}

/// Ids are non-empty: `common.json#/$defs/id` has `minLength: 1`.
fn download_session_model() -> BoxedStrategy<DownloadSessionModel> {
    (
        prop::option::of(text(1)),
        prop::option::of(text(1)),
        prop::option::of(text(0)),
        prop::option::of(localizable_message()),
        prop::option::of(long()),
        prop::option::of(select(State::ALL)),
        prop::option::of(timestamp()),
    )
        .prop_map(
            |(id, item, content_version, error, progress, state, expiration)| {
                DownloadSessionModel {
                    id,
                    library_item_id: item,
                    library_item_content_version: content_version,
                    error_message: error,
                    client_progress: progress,
                    state,
                    expiration_time: expiration,
                }
            },
        )
        .boxed()
}

fn session_info() -> BoxedStrategy<SessionInfo> {
    (text(0), timestamp(), timestamp())
        .prop_map(|(user, created_time, last_accessed_time)| SessionInfo {
            user,
            created_time,
            last_accessed_time,
        })
        .boxed()
}

fn vapi_error() -> BoxedStrategy<VapiError> {
    (
        select(ErrorType::ALL),
        prop::collection::vec(localizable_message(), 0..=MAX_ENTRIES),
        prop::option::of(json_object().prop_map(Box::new)),
        prop::option::of(text(0)),
    )
        .prop_map(|(error_type, messages, data, challenge)| VapiError {
            error_type,
            messages,
            data,
            challenge,
        })
        .boxed()
}

// ----------------------------------------------------------------------------------------------
// What each type needs beyond `VapiType`: its schema, where its maps are.

trait Case: VapiType + Debug + PartialEq {
    /// Schema name without the form prefix, e.g. `file_info`.
    const SCHEMA: &'static str;

    /// The document the schema of `style` describes, given the encoding of `self`.
    fn document(&self, encoded: Json, _style: MapStyle) -> Json {
        encoded
    }

    /// Rewrites every `params` entry list of a `/rest` encoding of this type as an object.
    fn rest_to_api(json: &mut Json) -> Result<(), String>;

    /// Appends the size of every `params` map present in `self`.
    fn param_maps(&self, sizes: &mut Vec<usize>);
}

fn object_mut<'a>(json: &'a mut Json, what: &str) -> Result<&'a mut JsonMap<String, Json>, String> {
    json.as_object_mut()
        .ok_or_else(|| format!("{what} is not an object"))
}

/// `[{"key": k, "value": v}, ...]` → `{k: v, ...}`, in order, converting each value too.
fn entry_list_to_object(params: &mut Json) -> Result<(), String> {
    let Json::Array(entries) = params.take() else {
        return Err("params is not a list".to_owned());
    };
    let mut object = JsonMap::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let Json::Object(mut entry) = entry else {
            return Err(format!("params/{i} is not an object"));
        };
        let (Some(Json::String(key)), Some(mut value), true) =
            (entry.remove("key"), entry.remove("value"), entry.is_empty())
        else {
            return Err(format!("params/{i} is not exactly {{\"key\", \"value\"}}"));
        };
        param_rest_to_api(&mut value)?;
        if object.insert(key, value).is_some() {
            return Err(format!("params/{i} repeats a key"));
        }
    }
    *params = Json::Object(object);
    Ok(())
}

/// For `LocalizableMessage` and `NestedLocalizableMessage`.
fn message_rest_to_api(message: &mut Json) -> Result<(), String> {
    match object_mut(message, "a message")?.get_mut("params") {
        Some(params) => entry_list_to_object(params),
        None => Ok(()),
    }
}

fn param_rest_to_api(param: &mut Json) -> Result<(), String> {
    match object_mut(param, "a localization param")?.get_mut("l") {
        Some(l) => message_rest_to_api(l),
        None => Ok(()),
    }
}

fn error_message_rest_to_api(json: &mut Json) -> Result<(), String> {
    match object_mut(json, "the value")?.get_mut("error_message") {
        Some(m) => message_rest_to_api(m),
        None => Ok(()),
    }
}

fn map_sizes(params: Option<&Map<LocalizationParam>>, sizes: &mut Vec<usize>) {
    if let Some(Map(entries)) = params {
        sizes.push(entries.len());
        for (_, param) in entries {
            param.param_maps(sizes);
        }
    }
}

impl Case for LocalizableMessage {
    const SCHEMA: &'static str = "localizable_message";
    fn rest_to_api(json: &mut Json) -> Result<(), String> {
        message_rest_to_api(json)
    }
    fn param_maps(&self, sizes: &mut Vec<usize>) {
        map_sizes(self.params.as_ref(), sizes);
    }
}

impl Case for LocalizationParam {
    const SCHEMA: &'static str = "localization_param";
    fn rest_to_api(json: &mut Json) -> Result<(), String> {
        param_rest_to_api(json)
    }
    fn param_maps(&self, sizes: &mut Vec<usize>) {
        if let Some(l) = &self.l {
            l.param_maps(sizes);
        }
    }
}

impl Case for NestedLocalizableMessage {
    const SCHEMA: &'static str = "nested_localizable_message";
    fn rest_to_api(json: &mut Json) -> Result<(), String> {
        message_rest_to_api(json)
    }
    fn param_maps(&self, sizes: &mut Vec<usize>) {
        map_sizes(self.params.as_ref(), sizes);
    }
}

impl Case for TransferEndpoint {
    const SCHEMA: &'static str = "transfer_endpoint";
    fn rest_to_api(_: &mut Json) -> Result<(), String> {
        Ok(())
    }
    fn param_maps(&self, _: &mut Vec<usize>) {}
}

impl Case for ChecksumInfo {
    const SCHEMA: &'static str = "checksum_info";
    fn rest_to_api(_: &mut Json) -> Result<(), String> {
        Ok(())
    }
    fn param_maps(&self, _: &mut Vec<usize>) {}
}

impl Case for FileInfo {
    const SCHEMA: &'static str = "file_info";
    fn rest_to_api(json: &mut Json) -> Result<(), String> {
        error_message_rest_to_api(json)
    }
    fn param_maps(&self, sizes: &mut Vec<usize>) {
        if let Some(m) = &self.error_message {
            m.param_maps(sizes);
        }
    }
}

impl Case for DownloadSessionModel {
    const SCHEMA: &'static str = "download_session_model";
    fn rest_to_api(json: &mut Json) -> Result<(), String> {
        error_message_rest_to_api(json)
    }
    fn param_maps(&self, sizes: &mut Vec<usize>) {
        if let Some(m) = &self.error_message {
            m.param_maps(sizes);
        }
    }
}

impl Case for SessionInfo {
    const SCHEMA: &'static str = "session_info";
    fn rest_to_api(_: &mut Json) -> Result<(), String> {
        Ok(())
    }
    fn param_maps(&self, _: &mut Vec<usize>) {}
}

impl Case for VapiError {
    const SCHEMA: &'static str = "error";
    /// `/rest` errors travel as `{"type": <canonical name>, "value": <error>}`.
    fn document(&self, encoded: Json, style: MapStyle) -> Json {
        match style {
            MapStyle::Object => encoded,
            MapStyle::EntryList => {
                json!({"type": self.error_type.canonical_name(), "value": encoded})
            }
        }
    }
    fn rest_to_api(json: &mut Json) -> Result<(), String> {
        let messages = object_mut(json, "the error")?
            .get_mut("messages")
            .and_then(Json::as_array_mut)
            .ok_or("the error has no list of messages")?;
        messages.iter_mut().try_for_each(message_rest_to_api)
    }
    fn param_maps(&self, sizes: &mut Vec<usize>) {
        for m in &self.messages {
            m.param_maps(sizes);
        }
    }
}

// ----------------------------------------------------------------------------------------------
// The properties.

const STYLES: [MapStyle; 2] = [MapStyle::Object, MapStyle::EntryList];

fn prefix(style: MapStyle) -> &'static str {
    match style {
        MapStyle::Object => "api",
        MapStyle::EntryList => "rest",
    }
}

fn other(style: MapStyle) -> MapStyle {
    match style {
        MapStyle::Object => MapStyle::EntryList,
        MapStyle::EntryList => MapStyle::Object,
    }
}

/// Compact JSON text; with `preserve_order` this keeps object key order, which `Json`'s
/// `PartialEq` ignores.
fn text_of(json: &Json) -> String {
    serde_json::to_string(json).expect("a JSON value serializes")
}

/// Property 1: encode then decode gives back the value, directly and through JSON text.
fn roundtrips<T: Case>(v: &T) -> Result<(), TestCaseError> {
    for style in STYLES {
        let json = encode_model(v, style);
        let back: T = decode_model(&json, style)
            .map_err(|e| TestCaseError::fail(format!("{style:?}: {e}\nJSON: {json}")))?;
        prop_assert_eq!(&back, v, "{:?} JSON: {}", style, json);

        let text = text_of(&json);
        let reparsed: Json = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("{style:?}: {e}\ntext: {text}")))?;
        prop_assert_eq!(text_of(&reparsed), text.clone(), "{:?}", style);
        let back: T = decode_model(&reparsed, style)
            .map_err(|e| TestCaseError::fail(format!("{style:?}: {e}\ntext: {text}")))?;
        prop_assert_eq!(&back, v, "{:?} text: {}", style, text);
    }
    // The third encoding: JSON-RPC's typed values, through JSON text too.
    let json = crate::wire::jsonrpc::encode(&v.to_value());
    let reparsed: Json = serde_json::from_str(&text_of(&json))
        .map_err(|e| TestCaseError::fail(format!("JSON-RPC: {e}\nJSON: {json}")))?;
    let back = crate::wire::jsonrpc::decode(&reparsed, T::vapi_type())
        .and_then(T::from_value)
        .map_err(|e| TestCaseError::fail(format!("JSON-RPC: {e}\nJSON: {json}")))?;
    prop_assert_eq!(&back, v, "JSON-RPC JSON: {}", json);
    Ok(())
}

/// Property 2: each encoding validates against the schema of its form.
fn matches_schema<T: Case>(v: &T) -> Result<(), TestCaseError> {
    for style in STYLES {
        let name = format!("{}/{}", prefix(style), T::SCHEMA);
        let doc = v.document(encode_model(v, style), style);
        if let Err(violations) = schemas::validate(&name, &doc) {
            let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
            return Err(TestCaseError::fail(format!(
                "{name}: {}\ndocument: {doc}",
                list.join("; ")
            )));
        }
    }
    Ok(())
}

/// Property 3: the forms differ exactly in how `params` maps are written.
fn forms_differ_only_in_params<T: Case>(v: &T) -> Result<(), TestCaseError> {
    let api = encode_model(v, MapStyle::Object);
    let rest = encode_model(v, MapStyle::EntryList);
    let mut converted = rest.clone();
    T::rest_to_api(&mut converted)
        .map_err(|e| TestCaseError::fail(format!("{e}\n/rest: {rest}")))?;
    prop_assert_eq!(text_of(&converted), text_of(&api));

    let mut maps = Vec::new();
    v.param_maps(&mut maps);
    prop_assert_eq!(
        api == rest,
        maps.is_empty(),
        "params maps of sizes {:?}; /api {} /rest {}",
        maps,
        api,
        rest
    );
    if maps.iter().any(|&n| n > 0) {
        prop_assert_ne!(&api, &rest);
    }
    Ok(())
}

/// Property 4: one form's JSON read with the other form's map style is refused at a `params`
/// field exactly when a `params` map is present.
fn wrong_map_style_is_refused<T: Case>(v: &T) -> Result<(), TestCaseError> {
    let mut maps = Vec::new();
    v.param_maps(&mut maps);
    for style in STYLES {
        let json = encode_model(v, style);
        match decode_model::<T>(&json, other(style)) {
            Ok(back) => {
                prop_assert!(
                    maps.is_empty(),
                    "{:?} JSON with params maps of sizes {:?} decoded as {:?}: {}",
                    style,
                    maps,
                    other(style),
                    json
                );
                prop_assert_eq!(&back, v);
            }
            Err(e) => {
                prop_assert!(
                    !maps.is_empty(),
                    "{:?} JSON without params refused as {:?}: {}\nJSON: {}",
                    style,
                    other(style),
                    e,
                    json
                );
                prop_assert!(
                    e.path.ends_with("/params"),
                    "refused at {:?}, not at a params map: {}",
                    e.path,
                    e
                );
            }
        }
    }
    Ok(())
}

macro_rules! properties {
    ($($module:ident: $ty:ty = $strategy:expr;)*) => {$(
        mod $module {
            use super::*;

            proptest! {
                #![proptest_config(config())]

                #[test]
                fn roundtrips(v in $strategy) {
                    super::roundtrips::<$ty>(&v)?;
                }

                #[test]
                fn matches_schema(v in $strategy) {
                    super::matches_schema::<$ty>(&v)?;
                }

                #[test]
                fn forms_differ_only_in_params(v in $strategy) {
                    super::forms_differ_only_in_params::<$ty>(&v)?;
                }

                #[test]
                fn wrong_map_style_is_refused(v in $strategy) {
                    super::wrong_map_style_is_refused::<$ty>(&v)?;
                }
            }
        }
    )*};
}

properties! {
    localizable_message: LocalizableMessage = localizable_message();
    localization_param: LocalizationParam = localization_param(MAX_MAP_DEPTH);
    nested_localizable_message: NestedLocalizableMessage = nested_message(MAX_MAP_DEPTH);
    transfer_endpoint: TransferEndpoint = transfer_endpoint();
    checksum_info: ChecksumInfo = checksum_info();
    file_info: FileInfo = file_info();
    download_session_model: DownloadSessionModel = download_session_model();
    session_info: SessionInfo = session_info();
    vapi_error: VapiError = vapi_error();
}

// ----------------------------------------------------------------------------------------------
// The generators reach what the properties are about.

/// Over a fixed-seed sample, messages carry absent, empty and non-empty `params`, and maps
/// nest to the full depth; otherwise properties 3 and 4 would hold vacuously.
#[test]
fn generators_reach_every_kind_of_params() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    fn depth(params: Option<&Map<LocalizationParam>>) -> u32 {
        params.map_or(0, |Map(entries)| {
            1 + entries
                .iter()
                .map(|(_, p)| depth(p.l.as_ref().and_then(|l| l.params.as_ref())))
                .max()
                .unwrap_or(0)
        })
    }

    let mut runner = TestRunner::deterministic();
    let strategy = localizable_message();
    let (mut absent, mut empty, mut full, mut deepest) = (0, 0, 0, 0);
    for _ in 0..256 {
        let m = strategy.new_tree(&mut runner).unwrap().current();
        match &m.params {
            None => absent += 1,
            Some(Map(entries)) if entries.is_empty() => empty += 1,
            Some(_) => full += 1,
        }
        deepest = deepest.max(depth(m.params.as_ref()));
    }
    assert!(
        absent > 0 && empty > 0 && full > 0,
        "{absent} {empty} {full}"
    );
    assert_eq!(deepest, MAX_MAP_DEPTH);
}

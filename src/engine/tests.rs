//! Engine rules checked without HTTP or JSON: the engine stands on its own.

use std::time::Duration;

use super::auth::{Caller, PRIV_DOWNLOAD_SESSION, PRIV_READ_STORAGE};
use super::library::{DEMO_ISO_ITEM_ID, DEMO_OVF_ITEM_ID};
use super::*;
use crate::model::ErrorType;

fn engine(config: EngineConfig) -> Engine {
    Engine::new(config, Clock::virtual_at(clock::VIRTUAL_EPOCH)).unwrap()
}

fn caller(name: &str) -> Caller {
    Caller {
        user: name.into(),
        privileges: vec![PRIV_DOWNLOAD_SESSION.into(), PRIV_READ_STORAGE.into()].into(),
    }
}

fn spec(item: &str) -> DownloadSessionModel {
    DownloadSessionModel {
        library_item_id: Some(item.into()),
        ..Default::default()
    }
}

#[test]
fn same_seed_same_ids() {
    let a = engine(EngineConfig::default());
    let b = engine(EngineConfig::default());
    let c = engine(EngineConfig {
        seed: 1,
        ..Default::default()
    });
    let me = caller("u");
    let ia = a.create(&me, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    let ib = b.create(&me, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    let ic = c.create(&me, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    assert_eq!(ia, ib);
    assert_ne!(ia, ic);
    assert_eq!(ia.len(), 36);
    assert_eq!(&ia[14..15], "4", "a version-4 UUID: {ia}");
}

#[test]
fn client_tokens_are_per_user() {
    let e = engine(EngineConfig::default());
    let (alice, bob) = (caller("alice"), caller("bob"));
    let a1 = e
        .create(&alice, Some("t"), &spec(DEMO_OVF_ITEM_ID))
        .unwrap();
    let a2 = e
        .create(&alice, Some("t"), &spec(DEMO_OVF_ITEM_ID))
        .unwrap();
    let b1 = e.create(&bob, Some("t"), &spec(DEMO_OVF_ITEM_ID)).unwrap();
    assert_eq!(a1, a2);
    assert_ne!(a1, b1);
    // Once deleted, the token creates afresh.
    e.delete(&alice, &a1).unwrap();
    let a3 = e
        .create(&alice, Some("t"), &spec(DEMO_OVF_ITEM_ID))
        .unwrap();
    assert_ne!(a3, a1);
}

#[test]
fn list_shows_only_the_callers_sessions_and_honours_the_item_filter() {
    let e = engine(EngineConfig::default());
    let (alice, bob) = (caller("alice"), caller("bob"));
    let ovf = e.create(&alice, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    let iso = e.create(&alice, None, &spec(DEMO_ISO_ITEM_ID)).unwrap();
    e.create(&bob, None, &spec(DEMO_ISO_ITEM_ID)).unwrap();
    let mut all = vec![ovf.clone(), iso.clone()];
    all.sort();
    assert_eq!(e.list(&alice, None).unwrap(), all);
    assert_eq!(e.list(&alice, Some(DEMO_ISO_ITEM_ID)).unwrap(), vec![iso]);
    let err = e.list(&alice, Some("nope")).unwrap_err();
    assert_eq!(err.error_type, ErrorType::NotFound);
}

#[test]
fn another_users_session_is_not_found_exactly_like_a_missing_one() {
    let e = engine(EngineConfig::default());
    let (alice, bob) = (caller("alice"), caller("bob"));
    let id = e.create(&alice, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    let file = "photon-5.mf";
    let missing = errors::session_not_found(&id);
    let refusals: Vec<(&str, VapiError)> = vec![
        ("get", e.get(&bob, &id).unwrap_err()),
        ("file_list", e.file_list(&bob, &id).unwrap_err()),
        ("file_get", e.file_get(&bob, &id, file).unwrap_err()),
        (
            "file_get unknown",
            e.file_get(&bob, &id, "nope").unwrap_err(),
        ),
        (
            "prepare",
            e.file_prepare(&bob, &id, file, None).unwrap_err(),
        ),
        ("keep_alive", e.keep_alive(&bob, &id, Some(50)).unwrap_err()),
        ("cancel", e.cancel(&bob, &id).unwrap_err()),
        ("fail", e.fail(&bob, &id, "x").unwrap_err()),
        ("delete", e.delete(&bob, &id).unwrap_err()),
    ];
    for (op, err) in refusals {
        assert_eq!(err, missing, "{op} by another user");
    }
    assert_eq!(e.list(&bob, None).unwrap(), Vec::<String>::new());
    assert_eq!(
        e.list(&bob, Some(DEMO_OVF_ITEM_ID)).unwrap(),
        Vec::<String>::new()
    );
    // The owner's session is untouched, and still the owner's to use.
    let m = e.get(&alice, &id).unwrap();
    assert_eq!((m.state, m.client_progress), (Some(State::Active), Some(0)));
    let f = e.file_get(&alice, &id, file).unwrap();
    assert_eq!(f.status, PrepareStatus::Unprepared);
    assert_eq!(e.list(&alice, None).unwrap(), vec![id.clone()]);
    e.cancel(&alice, &id).unwrap();
    e.delete(&alice, &id).unwrap();
}

#[test]
fn transitions_leave_active_only_once() {
    let e = engine(EngineConfig::default());
    let me = caller("u");
    let id = e.create(&me, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    e.keep_alive(&me, &id, Some(10)).unwrap();
    e.cancel(&me, &id).unwrap();
    assert_eq!(e.get(&me, &id).unwrap().state, Some(State::Canceled));
    for r in [
        e.keep_alive(&me, &id, None),
        e.cancel(&me, &id),
        e.fail(&me, &id, "x"),
    ] {
        assert_eq!(
            r.unwrap_err().error_type,
            ErrorType::NotAllowedInCurrentState
        );
    }
    // A refused transition changes nothing.
    let m = e.get(&me, &id).unwrap();
    assert_eq!(m.client_progress, Some(10));
    assert_eq!(m.error_message, None);
    e.delete(&me, &id).unwrap();
    assert_eq!(
        e.delete(&me, &id).unwrap_err().error_type,
        ErrorType::NotFound
    );
}

#[test]
fn expiry_is_strictly_after_the_expiration_time() {
    let e = engine(EngineConfig {
        idle_timeout: Duration::from_secs(10),
        ..Default::default()
    });
    let me = caller("u");
    let id = e.create(&me, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    let expires = e.get(&me, &id).unwrap().expiration_time.unwrap();
    e.clock().advance(Duration::from_secs(10));
    assert_eq!(e.clock().now(), expires);
    assert!(e.get(&me, &id).is_ok(), "not before expiration_time");
    e.clock().advance(Duration::from_millis(1));
    assert_eq!(e.get(&me, &id).unwrap_err().error_type, ErrorType::NotFound);
    assert_eq!(e.session_count(), 0);
}

#[test]
fn prepare_steps_through_the_documented_states() {
    let e = engine(EngineConfig {
        prepare: PrepareTiming {
            requested_ms: 100,
            preparing_ms: 100,
            ..Default::default()
        },
        ..Default::default()
    });
    let me = caller("u");
    let id = e.create(&me, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    let name = "photon-5.mf";
    assert_eq!(
        e.file_get(&me, &id, name).unwrap().status,
        PrepareStatus::Unprepared
    );
    let mut seen = vec![e.file_prepare(&me, &id, name, None).unwrap().status];
    for _ in 0..4 {
        e.clock().advance(Duration::from_millis(50));
        let f = e.file_get(&me, &id, name).unwrap();
        assert_eq!(
            f.download_endpoint.is_some(),
            f.status == PrepareStatus::Prepared
        );
        if seen.last() != Some(&f.status) {
            seen.push(f.status);
        }
    }
    use PrepareStatus::*;
    assert_eq!(seen, [PrepareRequested, Preparing, Prepared]);
    // Preparing again with the same endpoint type does not restart it.
    assert_eq!(
        e.file_prepare(&me, &id, name, None).unwrap().status,
        Prepared
    );
}

/// A read the test finishes by hand.
#[derive(Debug, Default)]
struct HandRead(std::sync::OnceLock<Result<String, String>>);

impl HandRead {
    fn finish(&self, result: Result<String, String>) {
        let _ = self.0.set(result);
    }
}

impl prepare::PrepareRead for HandRead {
    fn result(&self) -> Option<&Result<String, String>> {
        self.0.get()
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

/// A preparer whose one job the test finishes by hand, counting the reads it was asked for.
#[derive(Debug, Default)]
struct HandPreparer {
    job: Arc<HandRead>,
    reads: std::sync::atomic::AtomicUsize,
}

impl prepare::Preparer for HandPreparer {
    fn prepare(&self, _: &Download) -> Option<Arc<dyn prepare::PrepareRead>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Some(self.job.clone())
    }
}

impl HandPreparer {
    fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn engine_reading(clock: Clock) -> (Engine, Arc<HandPreparer>) {
    engine_reading_with(clock, PrepareTiming::default())
}

fn engine_reading_with(clock: Clock, prepare: PrepareTiming) -> (Engine, Arc<HandPreparer>) {
    let preparer = Arc::new(HandPreparer::default());
    let config = EngineConfig {
        // As the server hands it over (on a virtual clock, no wait for the read).
        prepare: crate::server::prepare_timing_for(&clock, prepare),
        ..Default::default()
    };
    let e = Engine::new(config, clock)
        .unwrap()
        .with_preparer(preparer.clone());
    (e, preparer)
}

#[test]
fn under_the_real_clock_a_file_is_prepared_once_it_has_been_read() {
    let (e, reader) = engine_reading(Clock::real());
    let me = caller("u");
    let id = e.create(&me, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    let name = "photon-5-disk1.vmdk";
    let f = e.file_prepare(&me, &id, name, None).unwrap();
    assert_eq!(f.status, PrepareStatus::Preparing);
    assert_eq!(f.download_endpoint, None);
    // Asking again neither restarts nor duplicates the read.
    e.file_prepare(&me, &id, name, None).unwrap();
    assert_eq!(reader.reads(), 1);
    reader.job.finish(Ok("0a1b".into()));
    let f = e.file_get(&me, &id, name).unwrap();
    assert_eq!(f.status, PrepareStatus::Prepared);
    // The checksum is known, but only a complete download publishes it.
    assert_eq!(f.checksum_info, None);
    let uri = f.download_endpoint.expect("PREPARED has an endpoint").uri;
    let token = uri.rsplit('/').nth(1).unwrap();
    let d = e.open_download(token, name).unwrap();
    assert_eq!(d.checksum.unwrap().result(), Some(&Ok("0a1b".to_string())));
}

#[test]
fn under_the_real_clock_an_unreadable_file_goes_to_error() {
    let (e, reader) = engine_reading(Clock::real());
    let me = caller("u");
    let id = e.create(&me, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    e.file_prepare(&me, &id, "photon-5.ovf", None).unwrap();
    reader.job.finish(Err("No such file or directory".into()));
    let f = e.file_get(&me, &id, "photon-5.ovf").unwrap();
    assert_eq!(f.status, PrepareStatus::Error);
    assert_eq!(f.download_endpoint, None);
    let m = f.error_message.expect("an ERROR file explains itself");
    assert_eq!(m.id, "com.vmware.vdcs.cls-main.file_prepare_failed");
    assert_eq!(m.args, ["photon-5.ovf", "No such file or directory"]);
    // The session itself is untouched.
    assert_eq!(e.get(&me, &id).unwrap().state, Some(State::Active));
}

#[test]
fn under_a_virtual_clock_or_without_wait_for_checksum_status_follows_time_alone() {
    let no_wait = PrepareTiming {
        wait_for_checksum: false,
        ..Default::default()
    };
    for (clock, prepare) in [
        (
            Clock::virtual_at(clock::VIRTUAL_EPOCH),
            PrepareTiming::default(),
        ),
        (Clock::real(), no_wait),
    ] {
        let (e, reader) = engine_reading_with(clock, prepare);
        let me = caller("u");
        let id = e.create(&me, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
        let f = e.file_prepare(&me, &id, "photon-5.ovf", None).unwrap();
        assert_eq!(reader.reads(), 1);
        assert!(reader.job.result().is_none());
        assert_eq!(f.status, PrepareStatus::Prepared, "{prepare:?}");
    }
}

#[test]
fn direct_endpoints_read_nothing() {
    let (e, reader) = engine_reading(Clock::real());
    let me = caller("u");
    let id = e.create(&me, None, &spec(DEMO_OVF_ITEM_ID)).unwrap();
    let f = e
        .file_prepare(&me, &id, "photon-5.ovf", Some(EndpointType::Direct))
        .unwrap();
    assert_eq!(f.status, PrepareStatus::Prepared);
    assert_eq!(reader.reads(), 0);
}

/// Whether `id` is an RFC 4122 UUID of version 4 (random) or 5 (name-based).
fn is_rfc4122_v4_or_v5(id: &str) -> bool {
    let Ok(u) = uuid::Uuid::parse_str(id) else {
        return false;
    };
    u.get_variant() == uuid::Variant::RFC4122
        && matches!(
            u.get_version(),
            Some(uuid::Version::Random | uuid::Version::Sha1)
        )
}

#[test]
fn every_id_the_engine_makes_is_an_rfc4122_uuid() {
    let mut libraries = library::demo_library();
    let mut named = libraries[0].clone();
    named.id = None;
    named.name = "named".into();
    for it in &mut named.items {
        it.id = None;
    }
    libraries.push(named);
    let e = engine(EngineConfig {
        libraries,
        ..Default::default()
    });
    let me = caller("u");
    let mut ids = vec![];
    for lib in e.library_ids() {
        let items = e.item_ids(&lib).unwrap();
        for item in &items {
            ids.push(e.create(&me, None, &spec(item)).unwrap());
        }
        ids.push(lib);
        ids.extend(items);
    }
    assert_eq!(ids.len(), 2 * 5);
    for id in &ids {
        assert!(
            is_rfc4122_v4_or_v5(id),
            "{id} is not an RFC 4122 v4/v5 UUID"
        );
    }
    // Ids given explicitly (the demo's, in the README) are kept as they are.
    assert!(ids.contains(&DEMO_OVF_ITEM_ID.to_string()));
    assert!(ids.contains(&DEMO_ISO_ITEM_ID.to_string()));
}

#[test]
fn login_compares_credentials_exactly_in_constant_time() {
    use super::auth::constant_time_eq;
    assert!(bool::from(constant_time_eq(b"VMware1!", b"VMware1!")));
    assert!(!bool::from(constant_time_eq(b"VMware1!", b"VMware1?")));
    assert!(!bool::from(constant_time_eq(b"VMware1!", b"VMware1")));
    assert!(!bool::from(constant_time_eq(b"", b"x")));
    assert!(bool::from(constant_time_eq(b"", b"")));
    let e = engine(EngineConfig::default());
    assert!(e.login("administrator@vsphere.local", "VMware1!").is_ok());
    assert!(e.login("operator@vsphere.local", "VMware1!").is_ok());
    for (user, password) in [
        ("administrator@vsphere.local", "VMware1"),
        ("administrator@vsphere.local", "VMware1!!"),
        ("administrator@vsphere.local", ""),
        ("administrator@vsphere.locaL", "VMware1!"),
        ("", ""),
    ] {
        let err = e.login(user, password).unwrap_err();
        assert_eq!(
            err.error_type,
            ErrorType::Unauthenticated,
            "{user}:{password}"
        );
    }
}

#[test]
fn a_secret_seed_replaces_the_seed_for_ids_and_tokens() {
    let with = |secret: Option<[u8; 32]>| {
        let e = engine(EngineConfig {
            secret_seed: secret,
            ..Default::default()
        });
        let token = e.login("administrator@vsphere.local", "VMware1!").unwrap();
        let id = e
            .create(&caller("u"), None, &spec(DEMO_OVF_ITEM_ID))
            .unwrap();
        (token, id)
    };
    let seeded = with(None);
    assert_eq!(with(Some([7; 32])), with(Some([7; 32])));
    assert_ne!(with(Some([7; 32])), seeded);
    assert_ne!(with(Some([7; 32])).0, with(Some([8; 32])).0);
}

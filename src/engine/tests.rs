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
        privileges: vec![PRIV_DOWNLOAD_SESSION.into(), PRIV_READ_STORAGE.into()],
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

//! `dlsim check` is right: against a correct server every rule passes, and for every rule a
//! server that breaks exactly that rule makes exactly that rule fail — in every form it covers.

use std::time::Duration;

use crate::conformance::{self, report, CheckOptions, Form, Outcome, Report};
use crate::Dlsim;
use crate::TlsPolicy;
use crate::Violation;

fn options(fake: &Dlsim) -> CheckOptions {
    let mut o = CheckOptions::new(fake.base_url(), fake.username(), fake.password());
    o.tls = TlsPolicy::Insecure;
    o
}

async fn check(fake: &Dlsim) -> Report {
    conformance::run(&options(fake), |_| {})
        .await
        .expect("the check runs")
}

#[tokio::test]
async fn a_correct_server_passes_every_rule_in_every_form() {
    let fake = Dlsim::builder().tls().start().await;
    let r = check(&fake).await;
    let text = report::text(&r, true);
    assert!(r.passed(true), "{text}");
    assert_eq!(r.count(Outcome::Fail), 0, "{text}");
    assert_eq!(r.count(Outcome::Skip), 0, "every rule was checked: {text}");
    let per_form: usize = conformance::catalog::rules()
        .iter()
        .map(|x| x.forms.len())
        .sum();
    assert_eq!(
        r.results.len(),
        per_form,
        "each rule once per form it covers"
    );
    for form in [Form::Api, Form::Rest, Form::JsonRpc] {
        assert!(r.results.iter().any(|x| x.form == form), "{form:?} checked");
    }
    assert!(r.results.iter().all(|x| x.checks > 0));
    assert_eq!(fake.session_count(), 0, "the run left sessions behind");
}

#[tokio::test]
async fn over_plain_http_the_thumbprint_rule_is_skipped_not_failed() {
    let fake = Dlsim::start().await;
    let r = check(&fake).await;
    assert!(r.passed(true), "{}", report::text(&r, true));
    let skipped: Vec<&str> = r
        .results
        .iter()
        .filter(|x| x.outcome == Outcome::Skip)
        .map(|x| x.rule.id.as_str())
        .collect();
    assert_eq!(
        skipped,
        [
            "content.thumbprint",
            "content.thumbprint",
            "content.thumbprint"
        ]
    );
}

/// Run the checker against a server that breaks `v`'s rule and nothing else.
async fn prove(v: Violation) {
    let fake = Dlsim::builder().tls().violate(v).start().await;
    let r = check(&fake).await;
    let text = report::text(&r, true);
    assert_eq!(r.failed_rules(), [v.rule()], "{text}");
    assert_eq!(
        r.count(Outcome::NotReached),
        0,
        "every other rule was reached: {text}"
    );
    let rule = conformance::catalog::rule(v.rule()).unwrap();
    for form in [Form::Api, Form::Rest, Form::JsonRpc] {
        if !rule.forms.iter().any(|f| f == form.name()) {
            continue;
        }
        let res = r
            .results
            .iter()
            .find(|x| x.rule.id == v.rule() && x.form == form)
            .unwrap();
        assert_eq!(
            res.outcome,
            Outcome::Fail,
            "{:?} not caught on {form:?}: {text}",
            v
        );
        assert!(!res.failures[0].message.is_empty());
    }
    if v != Violation::Delete {
        assert_eq!(fake.session_count(), 0, "sessions left behind: {text}");
    }
}

macro_rules! proofs {
    ($($name:ident => $v:ident,)+) => {
        $(
            #[tokio::test]
            async fn $name() {
                prove(Violation::$v).await;
            }
        )+
        const PROVEN: &[Violation] = &[$(Violation::$v),+];
    };
}

proofs! {
    catches_schema_login => LoginBody,
    catches_schema_session_id => SessionIdBody,
    catches_schema_session_model => SessionModelBody,
    catches_schema_id_list => IdListBody,
    catches_schema_file_info_list => FileInfoListBody,
    catches_schema_file_info => FileInfoBody,
    catches_schema_error_body => ErrorBody,
    catches_schema_library => LibraryBody,
    catches_status_success => SuccessStatus,
    catches_error_unknown_session => UnknownSession,
    catches_error_unknown_file => UnknownFile,
    catches_error_not_active => NotActive,
    catches_error_unauthenticated => Unauthenticated,
    catches_error_unknown_item => UnknownItem,
    catches_lifecycle_create_initial_state => InitialState,
    catches_lifecycle_files_start_unprepared => FilesStartUnprepared,
    catches_lifecycle_prepare_forward_only => PrepareForwardOnly,
    catches_lifecycle_endpoint_only_when_prepared => EndpointOnlyWhenPrepared,
    catches_lifecycle_progress_reflected => ProgressReflected,
    catches_lifecycle_expiry_monotonic => ExpiryMonotonic,
    catches_lifecycle_cancel => Cancel,
    catches_lifecycle_fail => Fail,
    catches_lifecycle_delete => Delete,
    catches_lifecycle_list_filter => ListFilter,
    catches_lifecycle_client_token => ClientToken,
    catches_lifecycle_expiry => Expiry,
    catches_content_size_and_checksum => SizeAndChecksum,
    catches_content_thumbprint => Thumbprint,
    catches_format_date_time => DateTimeFormat,
    catches_format_no_session_id_in_get => SessionIdInGet,
    catches_jsonrpc_envelope => JsonRpcEnvelope,
    catches_jsonrpc_id_echo => JsonRpcIdEcho,
    catches_jsonrpc_errors_with_200 => JsonRpcErrorsWith200,
    catches_jsonrpc_optional_tagged => JsonRpcOptionalTagged,
    catches_jsonrpc_protocol_errors => JsonRpcProtocolErrors,
}

#[test]
fn every_rule_in_the_catalogue_has_its_proof_here() {
    let mut proven: Vec<&str> = PROVEN.iter().map(|v| v.rule()).collect();
    proven.sort();
    let mut rules: Vec<&str> = conformance::catalog::rules()
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    rules.sort();
    assert_eq!(proven, rules);
}

#[tokio::test]
async fn should_rules_fail_the_run_only_when_strict() {
    let fake = Dlsim::builder()
        .tls()
        .violate(Violation::SessionIdInGet)
        .start()
        .await;
    let r = check(&fake).await;
    assert_eq!(r.failed_rules(), ["format.no-session-id-in-get"]);
    assert!(r.passed(false));
    assert!(!r.passed(true));
    let fake = Dlsim::builder()
        .tls()
        .violate(Violation::ListFilter)
        .start()
        .await;
    assert!(
        !check(&fake).await.passed(false),
        "a MUST rule fails the run"
    );
}

#[tokio::test]
async fn an_interrupted_run_deletes_what_it_created() {
    use crate::PrepareTiming;
    // Prepare never finishes on the frozen virtual clock, so the run is mid-lifecycle.
    let fake = Dlsim::builder()
        .prepare_timing(PrepareTiming {
            requested_ms: 1_000,
            preparing_ms: 0,
            ..Default::default()
        })
        .start()
        .await;
    let mut o = options(&fake);
    o.poll_interval = Duration::from_millis(5);
    let engine = fake.engine();
    let interrupt = async {
        // Wait (bounded) until the run holds a session, then interrupt it.
        for _ in 0..2_000 {
            if engine.session_count() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            engine.session_count() > 0,
            "the run never created a session"
        );
    };
    let r = conformance::run_until(&o, |_| {}, interrupt).await;
    assert!(
        matches!(r, Err(conformance::CheckError::Interrupted)),
        "{r:?}"
    );
    assert_eq!(fake.session_count(), 0);
}

#[tokio::test]
async fn reports_in_json_and_junit() {
    let fake = Dlsim::builder()
        .tls()
        .violate(Violation::ListFilter)
        .start()
        .await;
    let r = check(&fake).await;

    let json: serde_json::Value = serde_json::from_str(&report::json(&r, false)).unwrap();
    assert_eq!(json["passed"], false);
    let failed: Vec<&str> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["outcome"] == "fail")
        .map(|x| x["rule"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "lifecycle.list-filter",
            "lifecycle.list-filter",
            "lifecycle.list-filter"
        ]
    );
    let evidence = &json["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["outcome"] == "fail")
        .unwrap()["failures"][0]["evidence"];
    assert!(
        evidence["request"]
            .as_str()
            .unwrap()
            .contains("library_item_id="),
        "{evidence}"
    );

    // JUnit: parse it with a real XML parser and count what CI would count.
    let xml = report::junit(&r, false);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut suites, mut cases, mut failures) = (0, 0, 0);
    let mut declared_failures = None;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testsuites" => {
                        let attr = e.try_get_attribute("failures").unwrap().unwrap();
                        declared_failures = Some(String::from_utf8(attr.value.to_vec()).unwrap());
                    }
                    b"testsuite" => suites += 1,
                    b"testcase" => cases += 1,
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(suites, 3);
    assert_eq!(cases, r.results.len());
    assert_eq!(failures, 3);
    assert_eq!(declared_failures.as_deref(), Some("3"));

    let text = report::text(&r, false);
    assert!(
        text.contains("FAIL api") && text.contains("lifecycle.list-filter"),
        "{text}"
    );
    assert!(text.contains("request:  GET https://"), "{text}");
}

#[tokio::test]
async fn slow_rules_wait_for_real_expiry_only_when_asked() {
    let fake = Dlsim::builder()
        .real_clock()
        .idle_timeout(Duration::from_secs(1))
        .start()
        .await;
    let mut o = options(&fake);
    o.forms = vec![Form::Api];
    let quick = conformance::run(&o, |_| {}).await.unwrap();
    let expiry = |r: &Report| {
        r.results
            .iter()
            .find(|x| x.rule.id == "lifecycle.expiry")
            .unwrap()
            .outcome
    };
    assert_eq!(
        expiry(&quick),
        Outcome::Skip,
        "no --slow, no virtual clock: skipped"
    );
    o.slow = true;
    let slow = conformance::run(&o, |_| {}).await.unwrap();
    assert_eq!(
        expiry(&slow),
        Outcome::Pass,
        "{}",
        report::text(&slow, true)
    );

    // A real-clock server that never expires sessions fails it once the grace period is over.
    let fake = Dlsim::builder()
        .real_clock()
        .idle_timeout(Duration::from_secs(1))
        .violate(Violation::Expiry)
        .start()
        .await;
    let mut o = options(&fake);
    o.forms = vec![Form::Api];
    o.slow = true;
    o.expiry_grace = Duration::from_millis(300);
    o.poll_interval = Duration::from_millis(50);
    let r = conformance::run(&o, |_| {}).await.unwrap();
    assert_eq!(r.failed_rules(), ["lifecycle.expiry"]);
}

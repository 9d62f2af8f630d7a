//! The whole download-session lifecycle over HTTP, driven as a client would drive it.

mod common;

use std::time::Duration;

use common::{Api, DS, OVF_ITEM};
use dlsim::engine::PrepareTiming;
use dlsim::Dlsim;
use reqwest::Method;

#[tokio::test]
async fn a_client_runs_the_whole_lifecycle() {
    let fake = Dlsim::builder()
        .prepare_timing(PrepareTiming {
            requested_ms: 1_000,
            preparing_ms: 2_000,
        })
        .start()
        .await;
    let mut api = Api::new(fake.api_url());
    api.login(fake.username(), fake.password()).await;

    // Discover an item.
    let libs = api
        .expect(
            Method::GET,
            "/content/library",
            None,
            200,
            Some("api/library_list"),
        )
        .await;
    let lib = libs.json()[0].as_str().unwrap().to_string();
    api.expect(
        Method::GET,
        &format!("/content/library/{lib}"),
        None,
        200,
        Some("api/library_model"),
    )
    .await;
    let items = api
        .expect(
            Method::GET,
            &format!("/content/library/item?library_id={lib}"),
            None,
            200,
            Some("api/id_list"),
        )
        .await;
    let item = items.json()[0].as_str().unwrap().to_string();
    assert_eq!(item, OVF_ITEM);
    let model = api
        .expect(
            Method::GET,
            &format!("/content/library/item/{item}"),
            None,
            200,
            Some("api/item_model"),
        )
        .await;
    let content_version = model.json()["content_version"]
        .as_str()
        .unwrap()
        .to_string();

    // Create a session: ACTIVE, progress 0, the item's content version.
    let body = format!(r#"{{"library_item_id":"{item}"}}"#);
    let id = api
        .expect(Method::POST, DS, Some(&body), 201, Some("api/id"))
        .await
        .str()
        .to_string();
    let s = api
        .expect(
            Method::GET,
            &format!("{DS}/{id}"),
            None,
            200,
            Some("api/download_session_model"),
        )
        .await;
    assert_eq!(s.json()["state"], "ACTIVE");
    assert_eq!(s.json()["client_progress"], 0);
    assert_eq!(s.json()["library_item_id"], item.as_str());
    assert_eq!(
        s.json()["library_item_content_version"],
        content_version.as_str()
    );
    assert!(
        s.json().get("id").is_none(),
        "id is documented as absent from get"
    );
    let first_expiry = s.json()["expiration_time"].as_str().unwrap().to_string();
    let listed = api
        .expect(
            Method::GET,
            &format!("{DS}?library_item_id={item}"),
            None,
            200,
            Some("api/id_list"),
        )
        .await;
    assert_eq!(listed.json(), &serde_json::json!([id]));

    // List files: all UNPREPARED, no endpoint.
    let files = api
        .expect(
            Method::GET,
            &format!("{DS}/{id}/file"),
            None,
            200,
            Some("api/file_info_list"),
        )
        .await;
    let names: Vec<String> = files
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["status"], "UNPREPARED");
            assert!(f.get("download_endpoint").is_none());
            f["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        names,
        ["photon-5.ovf", "photon-5.mf", "photon-5-disk1.vmdk"]
    );

    // Prepare one file and poll it to PREPARED on the virtual clock.
    let file = &names[2];
    let prep = api
        .expect(
            Method::POST,
            &format!("{DS}/{id}/file?action=prepare"),
            Some(&format!(
                r#"{{"file_name":"{file}","endpoint_type":"HTTPS"}}"#
            )),
            200,
            Some("api/file_info"),
        )
        .await;
    assert_eq!(prep.json()["status"], "PREPARE_REQUESTED");
    let mut seen = vec![];
    for _ in 0..10 {
        let f = api
            .expect(
                Method::GET,
                &format!("{DS}/{id}/file?file_name={file}"),
                None,
                200,
                Some("api/file_info"),
            )
            .await;
        let status = f.json()["status"].as_str().unwrap().to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "PREPARED" {
            let uri = f.json()["download_endpoint"]["uri"].as_str().unwrap();
            assert!(
                uri.starts_with(&format!("{}/cls/data/", fake.base_url())),
                "{uri}"
            );
            assert!(uri.ends_with("/photon-5-disk1.vmdk"));
            assert_eq!(f.json()["size"], 1_073_741_824i64);
            break;
        }
        assert!(
            f.json().get("download_endpoint").is_none(),
            "no endpoint before PREPARED"
        );
        fake.clock().advance(Duration::from_millis(500));
    }
    assert_eq!(seen, ["PREPARE_REQUESTED", "PREPARING", "PREPARED"]);

    // keep_alive with progress: progress recorded, expiry moved forward.
    api.expect(
        Method::POST,
        &format!("{DS}/{id}?action=keep-alive"),
        Some(r#"{"progress":50}"#),
        204,
        None,
    )
    .await;
    let s = api
        .expect(
            Method::GET,
            &format!("{DS}/{id}"),
            None,
            200,
            Some("api/download_session_model"),
        )
        .await;
    assert_eq!(s.json()["client_progress"], 50);
    assert!(s.json()["expiration_time"].as_str().unwrap() > first_expiry.as_str());

    // cancel: CANCELED, then keep_alive is NotAllowedInCurrentState.
    api.expect(
        Method::POST,
        &format!("{DS}/{id}?action=cancel"),
        None,
        204,
        None,
    )
    .await;
    let s = api
        .expect(
            Method::GET,
            &format!("{DS}/{id}"),
            None,
            200,
            Some("api/download_session_model"),
        )
        .await;
    assert_eq!(s.json()["state"], "CANCELED");
    let err = api
        .expect_error(
            Method::POST,
            &format!("{DS}/{id}?action=keep-alive"),
            Some("{}"),
            400,
        )
        .await;
    assert_eq!(err, "NOT_ALLOWED_IN_CURRENT_STATE");

    // fail another session: ERROR with the client's message.
    let other = api
        .expect(Method::POST, DS, Some(&body), 201, Some("api/id"))
        .await
        .str()
        .to_string();
    assert_ne!(other, id);
    api.expect(
        Method::POST,
        &format!("{DS}/{other}?action=fail"),
        Some(r#"{"client_error_message":"disk full on the client"}"#),
        204,
        None,
    )
    .await;
    let s = api
        .expect(
            Method::GET,
            &format!("{DS}/{other}"),
            None,
            200,
            Some("api/download_session_model"),
        )
        .await;
    assert_eq!(s.json()["state"], "ERROR");
    assert_eq!(
        s.json()["error_message"]["default_message"],
        "disk full on the client"
    );
    let err = api
        .expect_error(
            Method::POST,
            &format!("{DS}/{other}?action=cancel"),
            None,
            400,
        )
        .await;
    assert_eq!(err, "NOT_ALLOWED_IN_CURRENT_STATE");

    // delete, then 404.
    api.expect(Method::DELETE, &format!("{DS}/{id}"), None, 204, None)
        .await;
    let err = api
        .expect_error(Method::GET, &format!("{DS}/{id}"), None, 404)
        .await;
    assert_eq!(err, "NOT_FOUND");
    let listed = api
        .expect(Method::GET, DS, None, 200, Some("api/id_list"))
        .await;
    assert_eq!(listed.json(), &serde_json::json!([other]));

    // Log out: the token stops working.
    api.expect(Method::DELETE, "/session", None, 204, None)
        .await;
    let err = api.expect_error(Method::GET, DS, None, 401).await;
    assert_eq!(err, "UNAUTHENTICATED");
}

#[tokio::test]
async fn idle_sessions_expire_on_the_virtual_clock_and_keep_alive_extends_them() {
    let fake = Dlsim::builder()
        .idle_timeout(Duration::from_secs(300))
        .start()
        .await;
    let mut api = Api::new(fake.api_url());
    api.login(fake.username(), fake.password()).await;
    let body = format!(r#"{{"library_item_id":"{OVF_ITEM}"}}"#);
    let idle = api
        .expect(Method::POST, DS, Some(&body), 201, Some("api/id"))
        .await
        .str()
        .to_string();
    let kept = api
        .expect(Method::POST, DS, Some(&body), 201, Some("api/id"))
        .await
        .str()
        .to_string();

    let s = api
        .expect(
            Method::GET,
            &format!("{DS}/{idle}"),
            None,
            200,
            Some("api/download_session_model"),
        )
        .await;
    let expiry =
        dlsim::model::Timestamp::parse(s.json()["expiration_time"].as_str().unwrap()).unwrap();
    assert_eq!(expiry.millis() - fake.clock().now().millis(), 300_000);

    // 200 s in, keep one alive; exactly at the expiration time both still exist.
    fake.clock().advance(Duration::from_secs(200));
    api.expect(
        Method::POST,
        &format!("{DS}/{kept}?action=keep-alive"),
        None,
        204,
        None,
    )
    .await;
    fake.clock().advance(Duration::from_secs(100));
    api.expect(
        Method::GET,
        &format!("{DS}/{idle}"),
        None,
        200,
        Some("api/download_session_model"),
    )
    .await;

    // One millisecond later the idle one is gone; the kept one lives 200 s longer.
    fake.clock().advance(Duration::from_millis(1));
    assert_eq!(
        api.expect_error(Method::GET, &format!("{DS}/{idle}"), None, 404)
            .await,
        "NOT_FOUND"
    );
    api.expect(
        Method::GET,
        &format!("{DS}/{kept}"),
        None,
        200,
        Some("api/download_session_model"),
    )
    .await;
    fake.clock().advance(Duration::from_secs(200));
    assert_eq!(
        api.expect_error(Method::GET, &format!("{DS}/{kept}"), None, 404)
            .await,
        "NOT_FOUND"
    );
    let listed = api
        .expect(Method::GET, DS, None, 200, Some("api/id_list"))
        .await;
    assert_eq!(listed.json(), &serde_json::json!([]));
}

#[tokio::test]
async fn a_repeated_client_token_returns_the_same_session() {
    let fake = Dlsim::start().await;
    let mut api = Api::new(fake.api_url());
    api.login(fake.username(), fake.password()).await;
    let body = format!(r#"{{"library_item_id":"{OVF_ITEM}"}}"#);
    let token = [("Client-Token", "0f8fad5b-d9cb-469f-a165-70867728950e")];
    let a = api.call_with(Method::POST, DS, Some(&body), &token).await;
    // Header names are case-insensitive.
    let b = api
        .call_with(
            Method::POST,
            DS,
            Some(&body),
            &[("client-token", token[0].1)],
        )
        .await;
    let c = api.call(Method::POST, DS, Some(&body)).await;
    assert_eq!((a.status, b.status, c.status), (201, 201, 201));
    assert_eq!(a.json(), b.json());
    assert_ne!(a.json(), c.json());
}

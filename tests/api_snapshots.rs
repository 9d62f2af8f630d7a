//! Snapshots of what the `/api` form sends, one per operation and per documented error.
//! The fake runs on a virtual clock with a fixed seed, so every byte is reproducible; only the
//! port in download URIs varies and is replaced by `http://dlsim.test`.

mod common;

use common::{Api, DS, OVF_ITEM};
use dlsim::Dlsim;
use reqwest::Method;
use serde_json::{json, Value};

fn stable(v: &Value, base: &str) -> Value {
    serde_json::from_str(&v.to_string().replace(base, "http://dlsim.test")).unwrap()
}

#[tokio::test]
async fn api_form_snapshots() {
    let fake = Dlsim::start().await;
    let mut api = Api::new(fake.api_url());
    let token = api.login(fake.username(), fake.password()).await;
    let base = fake.base_url().to_string();
    let mut shots = serde_json::Map::new();
    let mut shot = |name: &str, r: &common::Resp| {
        shots.insert(
            name.to_string(),
            json!({"status": r.status, "body": r.body.as_ref().map(|b| stable(b, &base))}),
        );
    };
    shots_insert_token(&mut shot, &token);

    shot(
        "library.list",
        &api.call(Method::GET, "/content/library", None).await,
    );
    let lib = dlsim::DEMO_LIBRARY_ID;
    shot(
        "library.get",
        &api.call(Method::GET, &format!("/content/library/{lib}"), None)
            .await,
    );
    shot(
        "item.list",
        &api.call(
            Method::GET,
            &format!("/content/library/item?library_id={lib}"),
            None,
        )
        .await,
    );
    shot(
        "item.get",
        &api.call(
            Method::GET,
            &format!("/content/library/item/{OVF_ITEM}"),
            None,
        )
        .await,
    );
    let body = format!(r#"{{"library_item_id":"{OVF_ITEM}"}}"#);
    let created = api.call(Method::POST, DS, Some(&body)).await;
    shot("download_session.create", &created);
    let id = created.str().to_string();
    shot(
        "download_session.get",
        &api.call(Method::GET, &format!("{DS}/{id}"), None).await,
    );
    shot(
        "download_session.list",
        &api.call(Method::GET, DS, None).await,
    );
    shot(
        "file.list",
        &api.call(Method::GET, &format!("{DS}/{id}/file"), None)
            .await,
    );
    shot(
        "file.prepare",
        &api.call(
            Method::POST,
            &format!("{DS}/{id}/file?action=prepare"),
            Some(r#"{"file_name":"photon-5.ovf"}"#),
        )
        .await,
    );
    shot(
        "file.get",
        &api.call(
            Method::GET,
            &format!("{DS}/{id}/file?file_name=photon-5.ovf"),
            None,
        )
        .await,
    );
    shot(
        "download_session.keep_alive",
        &api.call(
            Method::POST,
            &format!("{DS}/{id}?action=keep-alive"),
            Some(r#"{"progress":42}"#),
        )
        .await,
    );
    shot(
        "download_session.fail",
        &api.call(
            Method::POST,
            &format!("{DS}/{id}?action=fail"),
            Some(r#"{"client_error_message":"checksum mismatch"}"#),
        )
        .await,
    );
    shot(
        "download_session.get.error_state",
        &api.call(Method::GET, &format!("{DS}/{id}"), None).await,
    );
    shot(
        "error.not_allowed_in_current_state",
        &api.call(Method::POST, &format!("{DS}/{id}?action=cancel"), None)
            .await,
    );
    shot(
        "error.invalid_argument.unknown_file",
        &api.call(
            Method::GET,
            &format!("{DS}/{id}/file?file_name=missing.vmdk"),
            None,
        )
        .await,
    );
    shot(
        "error.invalid_argument.bad_body",
        &api.call(
            Method::POST,
            &format!("{DS}/{id}?action=keep-alive"),
            Some(r#"{"progress":"x"}"#),
        )
        .await,
    );
    shot(
        "error.invalid_request.malformed",
        &api.call(Method::POST, DS, Some("{")).await,
    );
    shot(
        "download_session.delete",
        &api.call(Method::DELETE, &format!("{DS}/{id}"), None).await,
    );
    shot(
        "error.not_found",
        &api.call(Method::GET, &format!("{DS}/{id}"), None).await,
    );
    shot(
        "error.method_not_allowed",
        &api.call(Method::PATCH, DS, None).await,
    );
    shot(
        "session.get",
        &api.call(Method::GET, "/session", None).await,
    );
    shot(
        "session.delete",
        &api.call(Method::DELETE, "/session", None).await,
    );
    shot(
        "error.unauthenticated",
        &api.call(Method::GET, DS, None).await,
    );

    insta::assert_json_snapshot!("api_form", Value::Object(shots));
}

fn shots_insert_token(shot: &mut impl FnMut(&str, &common::Resp), token: &str) {
    shot(
        "session.create",
        &common::Resp {
            status: 201,
            content_type: Some("application/json".into()),
            body: Some(Value::String(token.to_string())),
        },
    );
}

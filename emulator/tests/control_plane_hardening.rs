//! The emulator is a server users run in CI: no control-plane, flag or seed input bricks it, a web page cannot
//! drive it, and bodies it refuses get Google's front-end answers.

mod common;

use common::*;
use csmrun_emulator::seed::Seed;
use csmrun_emulator::{Config, Emulator, SeedSource};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `projects.get` still answers: the emulator keeps serving.
async fn still_serving(env: &Env) {
    let (status, text) = env
        .call_text(
            "GET",
            &format!("/cloudresourcemanager/v1/projects/{P}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = env.control("POST", "reset", None).await;
    assert_eq!(status, 200, "reset still works: {text}");
}

#[tokio::test]
async fn an_out_of_range_clock_change_is_refused_and_the_emulator_keeps_serving() {
    let env = Env::start().await;
    let before = env.control("GET", "clock", None).await.1;
    for body in [
        json!({"advance": "999999999999999s"}),
        json!({"advance": "1e400s"}),
        json!({"advance": "-5s"}),
        json!({"advance": "9999999999h"}),
        json!({"rate": 1e300}),
        json!({"rate": -1.0}),
        json!({"timeScale": 1e300}),
        json!({"advance": "10s", "rate": 1e300}),
    ] {
        let (status, text) = env.control("POST", "clock", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} must be refused: {text}");
        assert!(
            text.contains("advance") || text.contains("rate") || text.contains("timeScale"),
            "{text}"
        );
    }
    let after = env.control("GET", "clock", None).await.1;
    assert_eq!(
        before, after,
        "a refused change changes nothing, not even half of itself"
    );
    let (status, text) = env
        .control("POST", "settings", Some(json!({"timeScale": -3.0})))
        .await;
    assert_eq!(status, 400, "{text}");
    still_serving(&env).await;
}

#[tokio::test]
async fn the_largest_accepted_advance_leaves_the_emulator_serving() {
    let env = Env::start().await;
    for _ in 0..3 {
        let (status, text) = env
            .control(
                "POST",
                "clock",
                Some(json!({"advance": "315576000000s", "rate": 1000.0})),
            )
            .await;
        assert_eq!(status, 200, "{text}");
    }
    still_serving(&env).await;
    // An operation started now completes at a representable instant.
    let (status, text) = env
        .call_text(
            "POST",
            &env.run("services?serviceId=late"),
            Some(&plain("gcr.io/demo/late")),
        )
        .await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn a_seed_or_flag_time_scale_out_of_range_is_refused_at_start() {
    let huge = Emulator::start(Config {
        time_scale: Some(f64::INFINITY),
        ..Config::default()
    })
    .await;
    let Err(e) = huge else {
        panic!("an infinite --time-scale must be refused")
    };
    assert!(e.to_string().contains("timeScale"), "{e}");
    let seed = Seed::from_json(r#"{"timeScale": -1, "projects": []}"#).unwrap();
    let negative = Emulator::start(Config {
        seed: SeedSource::Inline(seed),
        ..Config::default()
    })
    .await;
    assert!(
        negative.is_err(),
        "a negative timeScale in a seed must be refused"
    );
    let seed = Seed::from_json(r#"{"iamPropagationDelay": "1e30s", "projects": []}"#).unwrap();
    let long = Emulator::start(Config {
        seed: SeedSource::Inline(seed),
        ..Config::default()
    })
    .await;
    assert!(
        long.is_err(),
        "a duration beyond Google's range in a seed must be refused"
    );
}

#[tokio::test]
async fn a_web_page_cannot_drive_the_control_plane() {
    let env = Env::start().await;
    let http = reqwest::Client::new();
    let from_page = http
        .post(env.url("/_emulator/reset"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(from_page.status().as_u16(), 403);
    let body = from_page.text().await.unwrap();
    assert!(body.contains("web pages"), "{body}");
    let rebound = http
        .post(env.url("/_emulator/faults"))
        .header("Host", format!("evil.example:{}", env.emu.addr().port()))
        .json(&json!({"code": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        rebound.status().as_u16(),
        403,
        "a DNS-rebound name is refused"
    );
    let (status, faults) = env.control("GET", "faults", None).await;
    assert_eq!(status, 200);
    assert!(
        !faults.contains("500"),
        "the refused rule was not added: {faults}"
    );
    let local = http
        .get(format!(
            "http://localhost:{}/_emulator/clock",
            env.emu.addr().port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        local.status().as_u16(),
        200,
        "localhost is the emulator's own name"
    );
}

#[tokio::test]
async fn an_oversized_body_gets_google_s_413_page() {
    let env = Env::start().await;
    let big = "x".repeat(33 * 1024 * 1024);
    let resp = reqwest::Client::new()
        .post(env.url(&env.run("services?serviceId=big")))
        .bearer_auth("test-token")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("Error 413 (Request Entity Too Large)!!1"),
        "{text}"
    );
    assert!(
        text.contains("Your client issued a request that was too large."),
        "{text}"
    );
    still_serving(&env).await;
}

#[tokio::test]
async fn a_malformed_chunked_body_gets_google_s_400_page_not_413() {
    let env = Env::start().await;
    let mut conn = tokio::net::TcpStream::connect(env.emu.addr())
        .await
        .unwrap();
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer t\r\nTransfer-Encoding: chunked\r\n\
         Content-Type: application/json\r\n\r\nZZ\r\nnot a chunk\r\n0\r\n\r\n",
        env.run("services?serviceId=bad"),
        env.emu.addr()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "a malformed body is a bad request: {answer}"
    );
    still_serving(&env).await;
}

#[tokio::test]
async fn the_request_log_stays_bounded_under_large_unauthenticated_requests() {
    let env = Env::start().await;
    let http = reqwest::Client::new();
    let big = "y".repeat(8 * 1024 * 1024);
    for i in 0..12 {
        let resp = http
            .post(env.url(&format!("/no/such/api/{i}")))
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404);
    }
    let (status, log) = env.control("GET", "requests", None).await;
    assert_eq!(status, 200);
    assert!(
        log.len() < 12 * 300 * 1024,
        "12 bodies of 8 MiB are kept as {} bytes",
        log.len()
    );
    assert!(
        log.contains("[truncated by csmrun-emulator: 8388608 bytes in all]"),
        "marker"
    );
}

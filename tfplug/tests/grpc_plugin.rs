//! The go-plugin services and StopProvider, ConfigureProvider over the in-memory connection.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use tfplug::protocol::wire::plugin as plugin_pb;
use tfplug::protocol::wire::tfplugin6 as pb;
use tfplug::value::Value;

/// The ApplyResourceChange that creates the widget `name` (`"slow"` blocks until cancelled).
fn create_widget(name: &str) -> pb::apply_resource_change::Request {
    let ty = widget_ty();
    let config = widget(&[("name", s(name))]);
    let planned = widget(&[
        ("id", Value::Unknown),
        ("name", s(name)),
        ("note", Value::Unknown),
    ]);
    pb::apply_resource_change::Request {
        type_name: "test_widget".into(),
        prior_state: Some(dv(&Value::Null, &ty)),
        planned_state: Some(dv(&planned, &ty)),
        config: Some(dv(&config, &ty)),
        planned_private: Vec::new(),
        provider_meta: None,
    }
}

#[tokio::test]
async fn health_service_reports_plugin_serving() {
    let mut c = connect().await;
    let resp = c
        .health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        resp.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test]
async fn controller_shutdown_signals_the_server_to_exit() {
    let mut c = connect().await;
    assert!(!c.shutdown.is_cancelled());
    c.controller.shutdown(plugin_pb::Empty {}).await.unwrap();
    assert!(c.shutdown.is_cancelled());
}

#[tokio::test]
async fn stdio_stream_ends_without_data() {
    let mut c = connect().await;
    let mut stream = c.stdio.stream_stdio(()).await.unwrap().into_inner();
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn configure_errors_are_returned_and_resources_then_report_not_configured() {
    let mut c = connect().await;
    let resp = c
        .provider
        .apply_resource_change(create_widget("a"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.diagnostics[0].summary, "Provider not configured");
}

#[tokio::test]
async fn stop_provider_cancels_in_flight_and_later_calls_of_the_walk_and_the_next_walk_runs() {
    let c = configured().await;
    let mut apply_client = c.provider.clone();
    let request = create_widget("slow");
    let in_flight = tokio::spawn(async move { apply_client.apply_resource_change(request).await });
    // The apply blocks until cancelled; give it a moment to start, then stop.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !in_flight.is_finished(),
        "the slow apply waits for StopProvider"
    );
    let mut stop_client = c.provider.clone();
    let stop = stop_client
        .stop_provider(pb::stop_provider::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stop.error, "");
    let resp = in_flight.await.unwrap().unwrap().into_inner();
    assert_eq!(resp.diagnostics[0].summary, "Interrupted");

    // A call of the same walk that reaches the provider after the stop is cancelled too: Terraform may have
    // been sending it when the user pressed Ctrl-C.
    let mut late = c.provider.clone();
    let resp = tokio::time::timeout(
        Duration::from_secs(60),
        late.apply_resource_change(create_widget("slow")),
    )
    .await
    .expect("a slow apply sent after the stop is cancelled, not waited out")
    .unwrap()
    .into_inner();
    assert_eq!(resp.diagnostics[0].summary, "Interrupted");

    // The next walk starts with ConfigureProvider: its calls get a fresh token and run normally.
    configure(&c).await;
    let mut later = c.provider.clone();
    let resp = later
        .apply_resource_change(create_widget("after"))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
}

//! `tracing` events as hclog JSON lines on stderr, the format go-plugin parses from a
//! plugin's stderr: Terraform then shows them under `TF_LOG` / `TF_LOG_PROVIDER` at the
//! event's own level.
//!
//! The level tfplug emits follows `TF_LOG_PROVIDER`, then `TF_LOG` (TRACE, DEBUG, INFO, WARN,
//! ERROR, JSON = TRACE, OFF); without either, warnings and errors only. Transport crates are
//! capped at WARN so DEBUG shows the provider's own events.

use std::io::Write;

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Installs the stderr hclog layer as the global subscriber (no-op if one is already set).
pub fn init() {
    let filter = filter_from_env(|k| std::env::var(k).ok());
    let _ = tracing_subscriber::registry()
        .with(HclogLayer::new(std::io::stderr).with_filter(filter))
        .try_init();
}

/// The filter for the given environment lookup.
pub fn filter_from_env(env: impl Fn(&str) -> Option<String>) -> Targets {
    let level = env("TF_LOG_PROVIDER")
        .filter(|v| !v.is_empty())
        .or_else(|| env("TF_LOG").filter(|v| !v.is_empty()))
        .map(|v| parse_level(&v))
        .unwrap_or(LevelFilter::WARN);
    let quiet = level.min(LevelFilter::WARN);
    Targets::new()
        .with_default(level)
        .with_target("h2", quiet)
        .with_target("hyper", quiet)
        .with_target("hyper_util", quiet)
        .with_target("tower", quiet)
        .with_target("tonic", quiet)
        .with_target("rustls", quiet)
}

fn parse_level(v: &str) -> LevelFilter {
    match v.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" => LevelFilter::WARN,
        "ERROR" => LevelFilter::ERROR,
        "OFF" => LevelFilter::OFF,
        // Terraform treats any other value as TRACE.
        _ => LevelFilter::TRACE,
    }
}

/// A layer writing one hclog JSON object per event to `W`.
pub struct HclogLayer<W> {
    writer: W,
}

impl<W> HclogLayer<W> {
    pub fn new(writer: W) -> Self {
        HclogLayer { writer }
    }
}

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = FieldVisitor(Map::new());
        event.record(&mut fields);
        let mut line = Map::new();
        line.insert(
            "@level".into(),
            Json::String(level_name(*event.metadata().level()).into()),
        );
        let message = fields
            .0
            .remove("message")
            .unwrap_or(Json::String(String::new()));
        let message = match message {
            Json::String(s) => s,
            other => other.to_string(),
        };
        line.insert("@message".into(), Json::String(message));
        let module = event
            .metadata()
            .target()
            .split("::")
            .next()
            .unwrap_or("provider");
        line.insert("@module".into(), Json::String(format!("provider.{module}")));
        line.insert(
            "@timestamp".into(),
            Json::String(timestamp(chrono::Utc::now())),
        );
        for (k, v) in fields.0 {
            line.insert(k, v);
        }
        let mut text = Json::Object(line).to_string();
        text.push('\n');
        // One write per line, so concurrent events never interleave within a line.
        let _ = self.writer.make_writer().write_all(text.as_bytes());
    }
}

/// hclog's level names.
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// The only layout go-plugin accepts: Go's `2006-01-02T15:04:05.000000Z07:00` (UTC: `Z`).
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

struct FieldVisitor(Map<String, Json>);

impl Visit for FieldVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), Json::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Json::String(value.into()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Json::Bool(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(
            field.name().into(),
            serde_json::Number::from_f64(value)
                .map(Json::Number)
                .unwrap_or(Json::Null),
        );
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), Json::String(value.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::TimeZone;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    #[test]
    fn timestamp_uses_go_layout_with_microseconds() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::microseconds(7);
        assert_eq!(timestamp(t), "2026-01-02T03:04:05.000007Z");
    }

    #[test]
    fn events_become_hclog_json_lines_with_level_message_and_fields() {
        let buf = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(HclogLayer::new(buf.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(type_name = "x_thing", count = 3, "planning");
            tracing::warn!("careful");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Json> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["@level"], "debug");
        assert_eq!(lines[0]["@message"], "planning");
        assert_eq!(lines[0]["type_name"], "x_thing");
        assert_eq!(lines[0]["count"], 3);
        assert!(lines[0]["@module"]
            .as_str()
            .unwrap()
            .starts_with("provider."));
        assert_eq!(
            lines[0]["@timestamp"].as_str().unwrap().len(),
            "2006-01-02T15:04:05.000000Z".len()
        );
        assert_eq!(lines[1]["@level"], "warn");
    }

    #[test]
    fn tf_log_provider_wins_over_tf_log_and_default_is_warn() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let enabled = |t: &Targets, level: Level| t.would_enable("csmrun", &level);
        let f = filter_from_env(env(&[("TF_LOG", "ERROR"), ("TF_LOG_PROVIDER", "DEBUG")]));
        assert!(enabled(&f, Level::DEBUG) && !enabled(&f, Level::TRACE));
        let f = filter_from_env(env(&[("TF_LOG", "INFO")]));
        assert!(enabled(&f, Level::INFO) && !enabled(&f, Level::DEBUG));
        let f = filter_from_env(env(&[]));
        assert!(enabled(&f, Level::WARN) && !enabled(&f, Level::INFO));
        let f = filter_from_env(env(&[("TF_LOG", "TRACE")]));
        assert!(!f.would_enable("h2", &Level::DEBUG));
    }
}

//! The go-plugin process contract, tested by spawning the example provider binary: cookie
//! check, the handshake line, AutoMTLS certificate, SIGINT, Shutdown and debug mode.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use tfplug::protocol::wire::{plugin as plugin_pb, tfplugin6 as pb};

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-tfplugexample");
const COOKIE: (&str, &str) = (
    "TF_PLUGIN_MAGIC_COOKIE",
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
);

/// Generous guard against a hung child; not a performance assertion.
const GUARD: Duration = Duration::from_secs(60);

fn plugin(envs: &[(&str, &str)], args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .env_remove("PLUGIN_CLIENT_CERT")
        .env_remove(COOKIE.0)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the example provider")
}

fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    line
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > GUARD {
            let _ = child.kill();
            panic!("the provider did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn connect(addr: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[test]
fn run_by_hand_it_explains_itself_on_stderr_and_exits_1() {
    let mut child = plugin(&[], &[]);
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(1));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(out, "", "nothing on stdout");
    assert!(err.contains("Terraform provider plugin"), "{err}");
    assert!(err.contains("--debug"), "{err}");
}

#[test]
fn wrong_cookie_is_refused_like_no_cookie() {
    let mut child = plugin(&[(COOKIE.0, "wrong")], &[]);
    assert_eq!(wait_exit(&mut child).code(), Some(1));
}

#[tokio::test]
async fn plaintext_handshake_line_comes_first_and_the_server_answers_on_it() {
    let mut child = plugin(
        &[
            COOKIE,
            ("PLUGIN_PROTOCOL_VERSIONS", "6,5"),
            ("PLUGIN_MIN_PORT", "0"),
            ("PLUGIN_MAX_PORT", "0"),
        ],
        &[],
    );
    let line = first_line(&mut child);
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "{line}");
    assert_eq!(&fields[..3], &["1", "6", "tcp"]);
    assert!(fields[3].starts_with("127.0.0.1:"));
    assert_eq!(fields[4], "grpc");
    assert_eq!(fields[5], "", "no certificate without PLUGIN_CLIENT_CERT");

    let channel = connect(fields[3]).await;
    let schema = pb::provider_client::ProviderClient::new(channel.clone())
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.resource_schemas.contains_key("tfplugexample_thing"));

    // SIGINT (Ctrl-C reaches the whole process group) is ignored.
    // SAFETY: kill(2) on our child's pid with a valid signal.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let health = tonic_health::pb::health_client::HealthClient::new(channel.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .expect("still serving after SIGINT")
        .into_inner();
    assert_eq!(
        health.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    assert!(child.try_wait().unwrap().is_none());

    plugin_pb::grpc_controller_client::GrpcControllerClient::new(channel)
        .shutdown(plugin_pb::Empty {})
        .await
        .ok();
    assert_eq!(
        wait_exit(&mut child).code(),
        Some(0),
        "Shutdown exits the process"
    );
    let mut rest = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut rest)
        .unwrap();
    assert_eq!(rest, "", "nothing but the handshake on stdout");
}

#[test]
fn automtls_handshake_carries_an_unpadded_base64_localhost_certificate() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let client_pem = params.self_signed(&key).unwrap().pem();
    let mut child = plugin(
        &[
            COOKIE,
            ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
            ("PLUGIN_CLIENT_CERT", &client_pem),
        ],
        &[],
    );
    let line = first_line(&mut child);
    let _ = child.kill();
    let _ = child.wait();
    let cert = line.trim_end().rsplit('|').next().unwrap();
    assert!(!cert.ends_with('='), "RawStdEncoding has no padding");
    assert!(
        cert.len() > 50,
        "go-plugin only loads certificates longer than 50 characters"
    );
    let der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(cert)
        .unwrap();
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).unwrap();
    let san = parsed.subject_alternative_name().unwrap().unwrap();
    assert!(san.value.general_names.iter().any(|n| matches!(
        n,
        x509_parser::extensions::GeneralName::DNSName("localhost")
    )));
}

#[tokio::test]
async fn debug_mode_prints_a_reattach_value_for_terraform_and_serves_plaintext() {
    let mut child = plugin(&[], &["--debug"]);
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut value = None;
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        if let Some(v) = tftest::reattach_value(&line) {
            value = Some(v);
            break;
        }
        line.clear();
    }
    let json: serde_json::Value =
        serde_json::from_str(&value.expect("a TF_REATTACH_PROVIDERS line")).unwrap();
    let entry = &json[tfplug_example::PROVIDER_ADDRESS];
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["Pid"], child.id());
    assert_eq!(entry["Addr"]["Network"], "tcp");
    let addr = entry["Addr"]["String"].as_str().unwrap();
    let schema = pb::provider_client::ProviderClient::new(connect(addr).await)
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.provider.is_some());
    // Ctrl-C stops a debug-mode provider.
    // SAFETY: kill(2) on our child's pid with a valid signal.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    assert!(wait_exit(&mut child).success());
}

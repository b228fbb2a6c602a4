//! AutoMTLS: the pinned client-certificate verifier against Terraform-like client
//! certificates (self-signed ECDSA P-521, CA:true), over real TLS handshakes.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::UnixTime;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tfplug::plugin::tls;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A certificate shaped like go-plugin's client certificate.
fn terraform_like_cert(
    alg: &'static rcgen::SignatureAlgorithm,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
    let key = rcgen::KeyPair::generate_for(alg).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "HashiCorp");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyAgreement,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.self_signed(&key).unwrap();
    let pem = cert.pem();
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        pem,
    )
}

#[derive(Debug)]
struct PinnedServer(CertificateDer<'static>);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        assert_eq!(server_name, &ServerName::try_from("localhost").unwrap());
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "unexpected server certificate".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &tls::crypto_provider().signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &tls::crypto_provider().signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        tls::crypto_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Runs one handshake plus a round trip; returns the server's accept result.
async fn handshake(
    pinned_pem: &str,
    client_identity: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<(), String> {
    let identity = tls::generate_server_identity().unwrap();
    let server_config =
        tls::server_config(&identity, tls::client_cert_from_pem(pinned_pem).unwrap()).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut stream = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        stream
            .read_exact(&mut buf)
            .await
            .map_err(|e| e.to_string())?;
        stream.write_all(b"pong").await.map_err(|e| e.to_string())?;
        stream.flush().await.map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    });

    // The client trusts exactly the server certificate from the handshake line, as
    // Terraform's Go client does (Go accepts a CA:true root as its own leaf; webpki does not,
    // hence the pinned verifier standing in for Go's here).
    let builder = ClientConfig::builder_with_provider(tls::crypto_provider())
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer(identity.cert_der.clone())));
    let client_config = match client_identity {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    if let Ok(mut stream) = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
    {
        let _ = stream.write_all(b"ping").await;
        let mut buf = [0u8; 4];
        let _ = stream.read_exact(&mut buf).await;
    }
    server.await.unwrap()
}

#[tokio::test]
async fn terraform_like_p521_client_cert_is_accepted_over_tls13() {
    let (cert, key, pem) = terraform_like_cert(&rcgen::PKCS_ECDSA_P521_SHA512);
    handshake(&pem, Some((cert, key)), &[&rustls::version::TLS13])
        .await
        .expect("accepted");
}

#[tokio::test]
async fn terraform_like_p521_client_cert_is_accepted_over_tls12() {
    let (cert, key, pem) = terraform_like_cert(&rcgen::PKCS_ECDSA_P521_SHA512);
    handshake(&pem, Some((cert, key)), &[&rustls::version::TLS12])
        .await
        .expect("accepted");
}

#[tokio::test]
async fn a_different_client_cert_is_rejected() {
    let (_, _, pinned_pem) = terraform_like_cert(&rcgen::PKCS_ECDSA_P521_SHA512);
    let (other_cert, other_key, _) = terraform_like_cert(&rcgen::PKCS_ECDSA_P521_SHA512);
    let err = handshake(
        &pinned_pem,
        Some((other_cert, other_key)),
        &[&rustls::version::TLS13],
    )
    .await
    .unwrap_err();
    assert!(err.contains("PLUGIN_CLIENT_CERT"), "{err}");
}

#[tokio::test]
async fn a_client_without_a_cert_is_rejected() {
    let (_, _, pinned_pem) = terraform_like_cert(&rcgen::PKCS_ECDSA_P521_SHA512);
    let err = handshake(&pinned_pem, None, &[&rustls::version::TLS13])
        .await
        .unwrap_err();
    assert!(!err.is_empty());
}

#[test]
fn server_cert_has_localhost_san_and_is_usable_as_its_own_root() {
    let identity = tls::generate_server_identity().unwrap();
    let (_, parsed) = x509_parser::parse_x509_certificate(identity.cert_der.as_ref()).unwrap();
    let san = parsed.subject_alternative_name().unwrap().unwrap();
    assert!(san.value.general_names.iter().any(|n| matches!(
        n,
        x509_parser::extensions::GeneralName::DNSName("localhost")
    )));
    assert!(parsed.is_ca());
}

#[test]
fn non_certificate_pem_is_refused() {
    let err =
        tls::client_cert_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert!(err.is_err());
    assert!(tls::client_cert_from_pem("not pem").is_err());
}

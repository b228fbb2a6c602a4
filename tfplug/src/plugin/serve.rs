//! `serve`: everything a provider's `main` needs: cookie check, version negotiation, TLS,
//! the gRPC server, the handshake line, SIGINT handling, Shutdown, and debug mode.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::Server as TonicServer;

use crate::plugin::{accept, debug, handshake, routes, tls};
use crate::provider::Provider;
use crate::server::Server;

/// Options for [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOpts {
    /// The provider's full source address, e.g. `registry.terraform.io/csmrun/csmrun`; the
    /// key of the `TF_REATTACH_PROVIDERS` value printed in debug mode.
    pub provider_address: String,
    /// Serve in debug mode even without `--debug` on the command line.
    pub debug: bool,
}

impl ServeOpts {
    /// Options for the provider at `provider_address`; debug mode follows `--debug`.
    pub fn new(provider_address: impl Into<String>) -> Self {
        ServeOpts {
            provider_address: provider_address.into(),
            debug: false,
        }
    }
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("binding a local TCP port: {0}")]
    Bind(std::io::Error),
    #[error("setting up AutoMTLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("installing the signal handler: {0}")]
    Signal(std::io::Error),
    #[error("writing the handshake to stdout: {0}")]
    Stdout(std::io::Error),
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("gRPC server task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Serves `provider` as a Terraform plugin until Terraform shuts it down.
///
/// Run by Terraform: checks the magic cookie (a human message and exit code 1 when the binary
/// is run by hand), answers on 127.0.0.1 with AutoMTLS when `PLUGIN_CLIENT_CERT` is set (h2c
/// otherwise), prints the handshake line as the only stdout output, ignores SIGINT (Terraform
/// sends StopProvider instead), and exits as soon as GRPCController.Shutdown arrives.
///
/// With `--debug`: serves plaintext in the foreground and prints a `TF_REATTACH_PROVIDERS`
/// value; Ctrl-C stops it.
pub async fn serve<P: Provider>(opts: ServeOpts, provider: P) -> Result<(), ServeError> {
    crate::log::init();
    let debug_mode = opts.debug || std::env::args().skip(1).any(|a| a == "--debug");
    if !debug_mode
        && !handshake::cookie_ok(std::env::var(handshake::MAGIC_COOKIE_KEY).ok().as_deref())
    {
        eprintln!("{}", handshake::NOT_A_COMMAND_MESSAGE);
        std::process::exit(1);
    }
    if let Err(offered) =
        handshake::negotiate(std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok().as_deref())
    {
        tracing::error!(
            ?offered,
            "Terraform does not offer plugin protocol 6; it will report the mismatch"
        );
    }
    let shutdown = CancellationToken::new();
    watch_interrupts(debug_mode, shutdown.clone())?;

    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .map_err(ServeError::Bind)?;
    let addr = listener.local_addr().map_err(ServeError::Bind)?;
    let server = Arc::new(Server::new(provider));
    let routes = routes::routes(server, shutdown.clone()).await;
    let builder = || TonicServer::builder().add_routes(routes.clone());

    let client_cert = if debug_mode {
        None
    } else {
        std::env::var("PLUGIN_CLIENT_CERT")
            .ok()
            .filter(|s| !s.trim().is_empty())
    };
    let auto_mtls = client_cert.is_some();
    let serving = match client_cert {
        Some(pem_text) => {
            let identity = tls::generate_server_identity()?;
            let config = tls::server_config(&identity, tls::client_cert_from_pem(&pem_text)?)?;
            announce(&handshake::handshake_line(
                addr,
                Some(identity.cert_der.as_ref()),
            ))?;
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            let incoming = accept::incoming(
                listener,
                move |tcp: TcpStream| {
                    no_delay(&tcp);
                    acceptor.accept(tcp)
                },
                accept::Limits::default(),
            );
            tokio::spawn(builder().serve_with_incoming(incoming))
        }
        None => {
            if debug_mode {
                let reattach =
                    debug::reattach_config(&opts.provider_address, addr, std::process::id());
                announce(&debug::instructions(&opts.provider_address, &reattach))?;
            } else {
                announce(&handshake::handshake_line(addr, None))?;
            }
            let incoming = accept::incoming(
                listener,
                |tcp: TcpStream| {
                    no_delay(&tcp);
                    std::future::ready(Ok(tcp))
                },
                accept::Limits::default(),
            );
            tokio::spawn(builder().serve_with_incoming(incoming))
        }
    };
    tracing::info!(%addr, debug_mode, auto_mtls, "tfplug provider serving");

    tokio::select! {
        _ = shutdown.cancelled() => {
            // GRPCController.Shutdown, or Ctrl-C in debug mode. Let the Shutdown response
            // reach Terraform, then exit without waiting for in-flight calls: go-plugin
            // SIGKILLs a plugin that is still alive 2 s later.
            tokio::time::sleep(Duration::from_millis(10)).await;
            std::process::exit(0);
        }
        result = serving => match result {
            Ok(r) => r.map_err(ServeError::from),
            Err(join) => Err(ServeError::Task(join)),
        },
    }
}

/// Writes `text` as the first (and only) stdout output and flushes it.
fn announce(text: &str) -> Result<(), ServeError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|_| out.flush())
        .map_err(ServeError::Stdout)
}

/// Terraform's Ctrl-C reaches the whole process group; a managed plugin must survive it and
/// let StopProvider cancel work. In debug mode Ctrl-C (and SIGTERM) cancel `stop`, which
/// exits the process.
fn watch_interrupts(debug: bool, stop: CancellationToken) -> Result<(), ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupts = signal(SignalKind::interrupt()).map_err(ServeError::Signal)?;
    let mut terms = if debug {
        Some(signal(SignalKind::terminate()).map_err(ServeError::Signal)?)
    } else {
        None
    };
    tokio::spawn(async move {
        loop {
            let term = async {
                match terms.as_mut() {
                    Some(t) => t.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = interrupts.recv() => {
                    if debug {
                        stop.cancel();
                        return;
                    }
                    tracing::debug!("SIGINT ignored; Terraform sends StopProvider to cancel work");
                }
                _ = term => {
                    stop.cancel();
                    return;
                }
            }
        }
    });
    Ok(())
}

/// Nagle plus the client's delayed ACK would add ~40 ms to every response.
fn no_delay(tcp: &TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
}

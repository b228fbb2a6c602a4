//! In-memory plugin connections for tests: the same services `serve` hosts, over a duplex
//! pipe, with generated clients playing Terraform's part.

use std::sync::Arc;

use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint, Server as TonicServer};

use crate::plugin::routes::{routes, MAX_MESSAGE_SIZE};
use crate::protocol::wire::{plugin as plugin_pb, tfplugin6 as tf_pb};
use crate::provider::Provider;
use crate::server::Server;

/// Clients connected to an in-process plugin.
pub struct InMemory {
    pub provider: tf_pb::provider_client::ProviderClient<Channel>,
    pub controller: plugin_pb::grpc_controller_client::GrpcControllerClient<Channel>,
    pub stdio: plugin_pb::grpc_stdio_client::GrpcStdioClient<Channel>,
    pub health: tonic_health::pb::health_client::HealthClient<Channel>,
    /// Cancelled when the controller's Shutdown is called (the real `serve` exits then).
    pub shutdown: CancellationToken,
}

/// Serves `provider` in this process over an in-memory pipe and connects clients to it.
pub async fn in_memory<P: Provider>(provider: P) -> Result<InMemory, tonic::transport::Error> {
    let shutdown = CancellationToken::new();
    let server = Arc::new(Server::new(provider));
    let routes = routes(server, shutdown.clone()).await;
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let incoming = futures::stream::iter([Ok::<_, std::io::Error>(server_io)]);
        let _ = TonicServer::builder()
            .add_routes(routes)
            .serve_with_incoming(incoming)
            .await;
    });
    let mut client_io = Some(client_io);
    let channel = Endpoint::try_from("http://in-memory.invalid")?
        .connect_with_connector(tower::service_fn(move |_| {
            let io = client_io.take();
            async move {
                io.map(TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("the in-memory pipe was already used"))
            }
        }))
        .await?;
    Ok(InMemory {
        provider: tf_pb::provider_client::ProviderClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE),
        controller: plugin_pb::grpc_controller_client::GrpcControllerClient::new(channel.clone()),
        stdio: plugin_pb::grpc_stdio_client::GrpcStdioClient::new(channel.clone()),
        health: tonic_health::pb::health_client::HealthClient::new(channel),
        shutdown,
    })
}

//! The gRPC services a plugin process serves, assembled once for `serve` and for tests.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::plugin::controller::{Controller, Stdio};
use crate::protocol::wire::{plugin as plugin_pb, tfplugin6 as tf_pb};
use crate::protocol::ProviderService;
use crate::provider::Provider;
use crate::server::Server;

/// Terraform's Go SDKs allow 256 MiB messages; tonic defaults to 4 MiB, too small for big
/// schemas and states.
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// Health (`plugin` = SERVING), GRPCController, GRPCStdio and tfplugin6.Provider.
/// `shutdown` is cancelled by GRPCController.Shutdown.
pub async fn routes<P: Provider>(server: Arc<Server<P>>, shutdown: CancellationToken) -> Routes {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;
    let provider = tf_pb::provider_server::ProviderServer::new(ProviderService::new(server))
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    Routes::new(health)
        .add_service(
            plugin_pb::grpc_controller_server::GrpcControllerServer::new(Controller::new(shutdown)),
        )
        .add_service(plugin_pb::grpc_stdio_server::GrpcStdioServer::new(Stdio))
        .add_service(provider)
}

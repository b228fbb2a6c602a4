//! go-plugin's side services: GRPCController (Shutdown) and GRPCStdio (an empty stream).

use std::pin::Pin;

use futures::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::protocol::wire::plugin as pb;

/// Shutdown cancels `shutdown`; `serve` exits the process when it sees that.
pub struct Controller {
    shutdown: CancellationToken,
}

impl Controller {
    pub fn new(shutdown: CancellationToken) -> Self {
        Controller { shutdown }
    }
}

#[tonic::async_trait]
impl pb::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _req: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        tracing::debug!("GRPCController.Shutdown: exiting");
        self.shutdown.cancel();
        Ok(Response::new(pb::Empty {}))
    }
}

/// Terraform discards forwarded stdio, and tfplug never writes to stdout after the handshake,
/// so the stream ends at once (the host treats end-of-stream as "nothing to forward").
pub struct Stdio;

#[tonic::async_trait]
impl pb::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream =
        Pin<Box<dyn Stream<Item = Result<pb::StdioData, Status>> + Send + 'static>>;

    async fn stream_stdio(
        &self,
        _req: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(Box::pin(futures::stream::empty())))
    }
}

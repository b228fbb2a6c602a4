//! The context handed to every provider, resource and data source hook: cancellation
//! (Terraform's StopProvider) and the data the provider produced in `configure`.

use std::sync::Arc;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::diag::Diagnostic;

/// Per-call context. `D` is the provider's configured data type (`Provider::Data`).
#[derive(Debug)]
pub struct Context<D> {
    cancel: CancellationToken,
    provider_data: Option<Arc<D>>,
}

impl<D> Clone for Context<D> {
    fn clone(&self) -> Self {
        Context {
            cancel: self.cancel.clone(),
            provider_data: self.provider_data.clone(),
        }
    }
}

impl<D> Context<D> {
    /// A context with the given cancellation token and provider data (tests build these too).
    pub fn new(cancel: CancellationToken, provider_data: Option<Arc<D>>) -> Self {
        Context {
            cancel,
            provider_data,
        }
    }

    /// Cancelled when Terraform sends StopProvider (the user pressed Ctrl-C). Long operations
    /// should select on [`Context::cancelled`] and return what they have, with an error.
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// True once Terraform asked the provider to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when Terraform asks the provider to stop.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// The provider's configured data; `None` before ConfigureProvider (validation runs then).
    pub fn provider_data(&self) -> Option<&Arc<D>> {
        self.provider_data.as_ref()
    }

    /// The provider's configured data, or an error diagnostic saying the provider was not
    /// configured (for hooks that Terraform only calls after configuring).
    pub fn configured(&self) -> Result<&Arc<D>, Diagnostic> {
        self.provider_data.as_ref().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "This operation needs the provider's configuration, but Terraform has not called \
                 ConfigureProvider on this provider process. This is a bug in the provider or in Terraform.",
            )
        })
    }
}

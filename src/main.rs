//! terraform-provider-csmrun: served by tfplug; run by Terraform, or by hand with `--debug`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let opts = tfplug::ServeOpts::new(csmrun::provider::PROVIDER_ADDRESS);
    match tfplug::serve(opts, csmrun::provider::CsmrunProvider).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-csmrun: {e}");
            ExitCode::FAILURE
        }
    }
}

//! terraform-provider-tfplugexample: the example provider, served by tfplug.
//! Run by Terraform, or by hand with `--debug` to print a TF_REATTACH_PROVIDERS value.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let opts = tfplug::ServeOpts::new(tfplug_example::PROVIDER_ADDRESS);
    match tfplug::serve(opts, tfplug_example::ExampleProvider).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-tfplugexample: {e}");
            ExitCode::FAILURE
        }
    }
}

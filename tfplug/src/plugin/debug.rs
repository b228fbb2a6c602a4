//! Debug (unmanaged) mode: the value of `TF_REATTACH_PROVIDERS` that points Terraform at a
//! provider process started by hand.

use std::net::SocketAddr;

use serde_json::json;

/// The JSON Terraform 1.0.3+ accepts. `Test: true` is required there: without it go-plugin
/// 1.4 reports protocol version 0 and Terraform picks the protocol 5 client. It also means
/// Terraform never kills or shuts down the process. Reattached connections have no TLS.
pub fn reattach_config(provider_address: &str, addr: SocketAddr, pid: u32) -> String {
    json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": 6,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": "tcp", "String": addr.to_string() },
        }
    })
    .to_string()
}

/// The instructions printed on stdout in debug mode; the last line is the shell assignment.
pub fn instructions(provider_address: &str, reattach: &str) -> String {
    format!(
        "Provider {provider_address} started in debug mode. To attach Terraform, set this in the \
         shell that runs Terraform (Ctrl-C here stops the provider):\n\n\
         \tTF_REATTACH_PROVIDERS='{reattach}'\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reattach_config_has_the_fields_terraform_1_0_3_needs() {
        let s = reattach_config(
            "registry.terraform.io/csmrun/csmrun",
            "127.0.0.1:4000".parse().unwrap(),
            42,
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let p = &v["registry.terraform.io/csmrun/csmrun"];
        assert_eq!(p["Protocol"], "grpc");
        assert_eq!(p["ProtocolVersion"], 6);
        assert_eq!(p["Pid"], 42);
        assert_eq!(p["Test"], true);
        assert_eq!(p["Addr"]["Network"], "tcp");
        assert_eq!(p["Addr"]["String"], "127.0.0.1:4000");
    }
}

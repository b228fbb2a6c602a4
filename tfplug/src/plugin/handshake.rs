//! go-plugin's process handshake: the magic cookie, app protocol negotiation and the single
//! line the host reads from the plugin's stdout.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use base64::Engine;

/// The environment variable Terraform (and OpenTofu) set to prove the binary runs as a plugin.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Its expected value.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's core protocol version; hosts reject anything else.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The only Terraform plugin protocol tfplug speaks.
pub const APP_PROTOCOL_VERSION: u32 = 6;

/// Printed on stderr when the binary is started by hand.
pub const NOT_A_COMMAND_MESSAGE: &str =
    "This binary is a Terraform provider plugin. Terraform starts it \
itself when a configuration uses the provider, so there is nothing to run by hand.\n\
To debug the provider, run it with --debug and follow the instructions it prints.";

/// Whether the magic cookie has the expected value.
pub fn cookie_ok(value: Option<&str>) -> bool {
    value == Some(MAGIC_COOKIE_VALUE)
}

/// The versions listed in `PLUGIN_PROTOCOL_VERSIONS` (comma-separated, in no stable order).
/// Entries that are not numbers are ignored.
pub fn offered_versions(value: &str) -> BTreeSet<u32> {
    value
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

/// The app protocol version to announce: 6 when the host offers it (or offers nothing, as a
/// host that predates negotiation). When 6 is not offered, go-plugin servers still announce
/// their own version and the host explains the mismatch, which is the clearest outcome.
pub fn negotiate(offered: Option<&str>) -> Result<u32, BTreeSet<u32>> {
    match offered.map(offered_versions) {
        None => Ok(APP_PROTOCOL_VERSION),
        Some(set) if set.is_empty() || set.contains(&APP_PROTOCOL_VERSION) => {
            Ok(APP_PROTOCOL_VERSION)
        }
        Some(set) => Err(set),
    }
}

/// `CORE|APP|tcp|ADDR|grpc|CERT`: CERT is the server certificate DER in unpadded standard
/// base64, empty without TLS. No trailing newline.
pub fn handshake_line(addr: SocketAddr, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    format!("{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|tcp|{addr}|grpc|{cert}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_parsed_as_a_set_in_any_order() {
        assert_eq!(offered_versions("6,5"), offered_versions(" 5 , 6"));
        assert_eq!(negotiate(Some("5,6")), Ok(6));
        assert_eq!(negotiate(Some("6")), Ok(6));
        assert_eq!(negotiate(None), Ok(6));
        assert_eq!(negotiate(Some("4,5")), Err([4, 5].into()));
    }

    #[test]
    fn handshake_line_uses_unpadded_base64() {
        let addr: SocketAddr = "127.0.0.1:1234".parse().unwrap();
        assert_eq!(
            handshake_line(addr, Some(&[1, 2])),
            "1|6|tcp|127.0.0.1:1234|grpc|AQI"
        );
        assert_eq!(handshake_line(addr, None), "1|6|tcp|127.0.0.1:1234|grpc|");
    }

    #[test]
    fn cookie_must_match_exactly() {
        assert!(cookie_ok(Some(MAGIC_COOKIE_VALUE)));
        assert!(!cookie_ok(Some("nope")));
        assert!(!cookie_ok(None));
    }
}

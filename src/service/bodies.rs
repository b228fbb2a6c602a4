//! The API objects each part should look like, built from a [`Spec`]; also used to detect drift on read.

use std::collections::BTreeMap;

use gcp::dns::{ManagedZone, PrivateVisibilityConfig, ResourceRecordSet, VisibleNetwork};

use super::defaults;
use super::names;
use super::spec::Spec;

/// The network URL DNS wants in `privateVisibilityConfig`.
pub fn network_url(s: &Spec) -> String {
    format!(
        "https://www.googleapis.com/compute/v1/projects/{}/global/networks/{}",
        s.network_project, s.network
    )
}

/// The shared private zone for the domain.
pub fn zone(s: &Spec) -> ManagedZone {
    ManagedZone {
        name: s.dns_zone_name.clone(),
        dns_name: format!("{}.", s.domain),
        description: Some(format!(
            "csmrun: private zone for {} (shared by every csmrun_service of the domain)",
            s.domain
        )),
        visibility: Some("private".into()),
        private_visibility_config: Some(PrivateVisibilityConfig {
            networks: vec![VisibleNetwork {
                network_url: network_url(s),
                ..Default::default()
            }],
            ..Default::default()
        }),
        labels: BTreeMap::from([(
            names::MANAGED_BY_KEY.to_string(),
            names::MANAGED_BY_VALUE.to_string(),
        )]),
        ..Default::default()
    }
}

/// The shared wildcard record `*.<domain>.`.
pub fn wildcard_record(s: &Spec) -> ResourceRecordSet {
    ResourceRecordSet {
        name: format!("*.{}.", s.domain),
        kind: "A".into(),
        ttl: i32::try_from(defaults::DNS_TTL).ok(),
        rrdatas: vec![s.dns_address.clone()],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::validate_table;

    fn spec() -> Spec {
        validate_table::planned(&validate_table::valid()).1
    }

    #[test]
    fn the_shared_dns_parts_are_a_private_zone_and_a_wildcard_record() {
        let s = spec();
        let z = zone(&s);
        assert_eq!(
            (z.name.as_str(), z.dns_name.as_str()),
            ("csmrun-meshapps-internal", "meshapps.internal.")
        );
        assert_eq!(z.visibility.as_deref(), Some("private"));
        let rr = wildcard_record(&s);
        assert_eq!(
            (rr.name.as_str(), rr.kind.as_str()),
            ("*.meshapps.internal.", "A")
        );
        assert_eq!(rr.rrdatas, vec!["10.0.0.1".to_string()]);
    }
}

//! The API objects each part should look like, built from a [`Spec`]; also used to detect drift on read.

use std::collections::BTreeMap;

use gcp::dns::{ManagedZone, PrivateVisibilityConfig, ResourceRecordSet, VisibleNetwork};
use gcp::run::{
    Container, ContainerPort, EnvVar, NetworkInterface, ResourceRequirements, RevisionScaling,
    RevisionTemplate, Service, ServiceMesh, VpcAccess,
};

use super::defaults;
use super::names;
use super::spec::Spec;

/// The Cloud Run v2 service; `owned_roles` are the project roles csmrun granted for its account.
pub fn service(s: &Spec, owned_roles: &[String]) -> Service {
    let container = Container {
        image: s.image.clone(),
        env: s
            .env
            .iter()
            .map(|(k, v)| EnvVar {
                name: k.clone(),
                value: Some(v.clone()),
                ..Default::default()
            })
            .collect(),
        resources: Some(ResourceRequirements {
            limits: BTreeMap::from([
                ("cpu".to_string(), s.cpu.clone()),
                ("memory".to_string(), s.memory.clone()),
            ]),
            // Below one CPU Cloud Run requires request-based billing (CPU only during requests), and with
            // resources given the API takes CPU as always allocated unless told (run.v2.json, `cpuIdle`: "if
            // ResourceRequirements is set, the caller must explicitly set this field to true").
            cpu_idle: super::validate::parse_cpu(&s.cpu)
                .is_ok_and(|c| c < 1.0)
                .then_some(true),
            ..Default::default()
        }),
        ports: vec![ContainerPort {
            name: Some("http1".into()),
            container_port: i32::try_from(s.port).ok(),
        }],
        ..Default::default()
    };
    Service {
        description: Some(s.marker()),
        labels: s.labels.clone(),
        annotations: if owned_roles.is_empty() {
            BTreeMap::new()
        } else {
            BTreeMap::from([(
                super::steps::iam::OWNED_ROLES_ANNOTATION.to_string(),
                owned_roles.join(","),
            )])
        },
        ingress: Some(s.ingress.clone()),
        // serviceMesh is a preview feature; the API refuses it under GA.
        launch_stage: Some("BETA".into()),
        template: Some(RevisionTemplate {
            service_account: Some(s.service_account.clone()),
            containers: vec![container],
            scaling: Some(RevisionScaling {
                min_instance_count: i32::try_from(s.min_instances).ok(),
                max_instance_count: i32::try_from(s.max_instances).ok(),
                ..Default::default()
            }),
            vpc_access: Some(VpcAccess {
                egress: Some("ALL_TRAFFIC".into()),
                network_interfaces: vec![NetworkInterface {
                    network: Some(format!(
                        "projects/{}/global/networks/{}",
                        s.network_project, s.network
                    )),
                    subnetwork: Some(format!(
                        "projects/{}/regions/{}/subnetworks/{}",
                        s.subnet_project, s.subnet_region, s.subnetwork
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            service_mesh: Some(ServiceMesh {
                mesh: Some(s.mesh.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

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
    fn the_service_joins_the_mesh_with_all_traffic_egress_and_carries_the_markers() {
        let s = spec();
        let svc = service(&s, &["roles/trafficdirector.client".to_string()]);
        let t = svc.template.unwrap();
        assert_eq!(
            t.service_mesh.unwrap().mesh.as_deref(),
            Some("projects/p/locations/global/meshes/meshapps")
        );
        let vpc = t.vpc_access.unwrap();
        assert_eq!(vpc.egress.as_deref(), Some("ALL_TRAFFIC"));
        assert_eq!(
            vpc.network_interfaces[0].subnetwork.as_deref(),
            Some("projects/p/regions/r/subnetworks/mesh-subnet")
        );
        assert_eq!(
            svc.labels.get("managed-by").map(String::as_str),
            Some("csmrun")
        );
        assert_eq!(svc.description.as_deref(), Some("csmrun:p/r/target"));
        assert_eq!(
            svc.ingress.as_deref(),
            Some("INGRESS_TRAFFIC_INTERNAL_ONLY")
        );
        assert_eq!(
            svc.annotations
                .get(crate::service::steps::iam::OWNED_ROLES_ANNOTATION)
                .map(String::as_str),
            Some("roles/trafficdirector.client")
        );
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

//! The schema of `csmrun_service` (PRODUCT §6): blocks, not nested attributes, so Terraform 1.0.x works.

use tfplug::schema::{Attribute, Block, NestedBlock, Schema};
use tfplug::Type;

use super::defaults;

fn map_of_strings() -> Type {
    Type::Map(Box::new(Type::String))
}

fn destination_block() -> NestedBlock {
    NestedBlock::list(
        "destination",
        Block::new()
            .description("An extra weighted destination.")
            .attribute(
                Attribute::required("backend_service", Type::String).description(
                    "The backend service to send traffic to: another `csmrun_service`'s `backend_service`, or \
                     `projects/P/global/backendServices/NAME`.",
                ),
            )
            .attribute(
                Attribute::required("weight", Type::Number)
                    .description("Relative weight, 0 to 100, of this destination."),
            ),
    )
}

fn route_block() -> NestedBlock {
    let retry = NestedBlock::list(
        "retry",
        Block::new()
            .description("Retries of failed requests.")
            .attribute(Attribute::optional("attempts", Type::Number).description("Number of retries (1 to 25)."))
            .attribute(
                Attribute::optional("per_try_timeout", Type::String)
                    .description("Timeout of each attempt, e.g. `\"2s\"`; not longer than the route's `timeout`."),
            )
            .attribute(Attribute::optional("conditions", Type::List(Box::new(Type::String))).description(
                "When to retry: `5xx`, `gateway-error`, `reset`, `connect-failure`, `retriable-4xx`, \
                 `refused-stream`, `retriable-status-codes`, `retriable-headers`, `cancelled`, \
                 `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`.",
            )),
    )
    .max_items(1);
    let fault = NestedBlock::list(
        "fault_injection",
        Block::new()
            .description("Inject delays and aborts to test resilience.")
            .attribute(
                Attribute::optional("delay", Type::String)
                    .description("Fixed delay, e.g. `\"1s\"`."),
            )
            .attribute(
                Attribute::optional("delay_percent", Type::Number)
                    .description("Percentage of delayed requests (0-100)."),
            )
            .attribute(
                Attribute::optional("abort_status", Type::Number)
                    .description("HTTP status of aborted requests (200-599)."),
            )
            .attribute(
                Attribute::optional("abort_percent", Type::Number)
                    .description("Percentage of aborted requests (0-100)."),
            ),
    )
    .max_items(1);
    let header = NestedBlock::list(
        "header",
        Block::new()
            .description(
                "A header match: set exactly one of `exact`, `prefix`, `regex`, `present`.",
            )
            .attribute(Attribute::required("name", Type::String).description("Header name."))
            .attribute(
                Attribute::optional("exact", Type::String).description("The value equals this."),
            )
            .attribute(
                Attribute::optional("prefix", Type::String)
                    .description("The value starts with this."),
            )
            .attribute(
                Attribute::optional("regex", Type::String)
                    .description("The value matches this RE2 regex."),
            )
            .attribute(
                Attribute::optional("present", Type::Bool)
                    .description("The header is present (`true`)."),
            ),
    );
    let rule = NestedBlock::list(
        "rule",
        Block::new()
            .description("A match evaluated in order before the default split (A/B routing).")
            .attribute(
                Attribute::optional("path_prefix", Type::String)
                    .description("The path starts with this (`/api/v2`)."),
            )
            .block(header)
            .block(destination_block()),
    );
    NestedBlock::list(
        "route",
        Block::new()
            .description("Settings of the HTTPRoute.")
            .attribute(
                Attribute::optional("timeout", Type::String)
                    .description("Request timeout including retries, e.g. `\"10s\"`."),
            )
            .attribute(Attribute::optional("weight", Type::Number).description(
                "This service's own share (0 to 100) of the default split when `destination` blocks are set.",
            ))
            .block(retry)
            .block(fault)
            .block(destination_block())
            .block(rule),
    )
    .max_items(1)
}

/// The resource schema.
pub fn schema() -> Schema {
    let s = |name: &str| Attribute::required(name, Type::String);
    let oc = Attribute::optional_computed;
    let ro = |name: &str, d: &str| Attribute::computed(name, Type::String).description(d);
    let block = Block::new()
        .description(
            "A Cloud Run service inside Cloud Service Mesh, with everything it needs: serverless NEG, backend \
             service, HTTPRoute, private DNS and IAM, created as one unit and rolled back on failure.",
        )
        .attribute(
            ro("id", "`projects/P/locations/R/services/NAME`.").use_state_for_unknown(),
        )
        .attribute(
            s("name")
                .requires_replace()
                .description("Cloud Run service name: fewer than 50 characters, RFC 1035 (`[a-z]([-a-z0-9]*[a-z0-9])?`)."),
        )
        .attribute(oc("project", Type::String).requires_replace().description("Project; default: the provider's."))
        .attribute(oc("region", Type::String).requires_replace().description("Region; default: the provider's."))
        .attribute(s("image").description("Container image, e.g. `asia-northeast1-docker.pkg.dev/p/apps/target:1.2.0`."))
        .attribute(s("mesh").description("The mesh: a name or `projects/P/locations/global/meshes/M`."))
        .attribute(s("domain").description("The mesh domain, e.g. `meshapps.internal` (no trailing dot)."))
        .attribute(s("network").description("VPC network for Direct VPC egress: name, id or self link."))
        .attribute(s("subnetwork").description("Subnetwork (in the service's region): name, id or self link."))
        .attribute(s("service_account").description("Runtime service account email."))
        .attribute(oc("hostname", Type::String).description("Hostname in the mesh; default `<name>.<domain>`; must be under `domain`."))
        .attribute(oc("port", Type::Number).description(format!("Container port; default `{}`.", defaults::PORT)))
        .attribute(Attribute::optional("env", map_of_strings()).description("Environment variables."))
        .attribute(oc("cpu", Type::String).description(format!("CPU limit; default `\"{}\"`.", defaults::CPU)))
        .attribute(oc("memory", Type::String).description(format!("Memory limit; default `\"{}\"`.", defaults::MEMORY)))
        .attribute(oc("min_instances", Type::Number).description(format!("Default `{}`.", defaults::MIN_INSTANCES)))
        .attribute(oc("max_instances", Type::Number).description(format!("Default `{}`.", defaults::MAX_INSTANCES)))
        .attribute(oc("ingress", Type::String).description(
            "`internal` (default), `internal-and-cloud-load-balancing` or `all`.",
        ))
        // Computed so that no `invokers` and `invokers = []` (the same policy) both plan no change against an
        // imported `[]` (plan::invokers).
        .attribute(oc("invokers", Type::Set(Box::new(Type::String))).description(
            "Members granted `roles/run.invoker` on the service (authoritative for that role): `user:`, \
             `serviceAccount:`, `group:`, `domain:`, `allUsers`, `allAuthenticatedUsers`.",
        ))
        .attribute(oc("trace", Type::Bool).description("Also grant `roles/cloudtrace.agent` to the service account; default `false`."))
        .attribute(Attribute::optional("labels", map_of_strings()).description("Labels of the service, route and zone."))
        .attribute(oc("dns_address", Type::String).description(format!(
            "IPv4 address of the shared `*.<domain>` record; default `{}` (never connected to).",
            defaults::DNS_ADDRESS
        )))
        .attribute(oc("deletion_policy", Type::String).description(
            "`DELETE` (default), `PREVENT` (a destroy or replacement fails: at plan time on Terraform >= 1.3, else at apply) or `ABANDON` (destroy forgets, leaves everything).",
        ))
        .attribute(oc("neg_name", Type::String).description("Name of the serverless NEG; default `<name>-neg`."))
        .attribute(oc("backend_service_name", Type::String).description("Default `<name>-backend`."))
        .attribute(oc("route_name", Type::String).description("Default `<name>-route`."))
        .attribute(oc("dns_zone_name", Type::String).description("Default `csmrun-` + domain with dots as dashes."))
        .attribute(ro("uri", "The service's run.app URL.").use_state_for_unknown())
        .attribute(ro("url", "`http://<hostname>`: the address in the mesh."))
        .attribute(ro("latest_ready_revision", "The latest Ready revision."))
        .attribute(ro("backend_service", "The backend service id, for another service's `route.destination`."))
        .attribute(ro("neg", "The serverless NEG id."))
        .attribute(ro("http_route", "The HTTPRoute name."))
        .attribute(ro("dns_zone", "The managed zone id."))
        .attribute(
            Attribute::computed("effective_labels", map_of_strings())
                .description("All labels on the parts: provider `default_labels`, `labels` and `managed-by = csmrun`."),
        )
        .block(route_block())
        .block(
            NestedBlock::list(
                "circuit_breaker",
                Block::new()
                    .description("The backend service's Envoy circuit breaker.")
                    .attribute(Attribute::optional("max_requests", Type::Number))
                    .attribute(Attribute::optional("max_pending_requests", Type::Number))
                    .attribute(Attribute::optional("max_connections", Type::Number))
                    .attribute(Attribute::optional("max_retries", Type::Number)),
            )
            .max_items(1),
        )
        .block(
            NestedBlock::list(
                "outlier_detection",
                Block::new()
                    .description("Eject failing endpoints.")
                    .attribute(Attribute::optional("consecutive_errors", Type::Number))
                    .attribute(Attribute::optional("interval", Type::String))
                    .attribute(Attribute::optional("base_ejection_time", Type::String))
                    .attribute(Attribute::optional("max_ejection_percent", Type::Number)),
            )
            .max_items(1),
        )
        .block(NestedBlock::single(
            "timeouts",
            Block::new()
                .description("Bounds of every wait and retry; default `20m` each.")
                .attribute(Attribute::optional("create", Type::String))
                .attribute(Attribute::optional("update", Type::String))
                .attribute(Attribute::optional("delete", Type::String)),
        ));
    Schema::new(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_passes_terraform_rules() {
        assert_eq!(schema().check_resource(), vec![]);
    }

    #[test]
    fn identity_attributes_force_replacement_and_the_rest_does_not() {
        let s = schema();
        for a in &s.block.attributes {
            let expect = ["name", "project", "region"].contains(&a.name.as_str());
            assert_eq!(a.requires_replace, expect, "{}", a.name);
        }
    }
}

//! The schema of `csmrun_mesh`: computed `list(object)` attributes, not nested attributes or computed blocks,
//! so Terraform 1.0.x reads it.

use tfplug::schema::{Attribute, Block, Schema};
use tfplug::Type;

fn list(ty: Type) -> Type {
    Type::List(Box::new(ty))
}

fn strings() -> Type {
    list(Type::String)
}

/// `object({backend_service, service, region, weight})`.
fn destination() -> Type {
    Type::object([
        ("backend_service", Type::String),
        ("service", Type::String),
        ("region", Type::String),
        ("weight", Type::Number),
    ])
}

/// `object({matches, destinations})`.
fn rule() -> Type {
    Type::object([
        ("matches", strings()),
        ("destinations", list(destination())),
    ])
}

/// The data source schema.
pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "The mesh as its sidecars see it: every HTTPRoute of the project attached to the mesh, the backend \
                 services and Cloud Run services behind its destinations, and who may call whom \
                 (`roles/run.invoker`), whether csmrun made them or not; plus `mermaid`, a Mermaid flowchart of it.",
            )
            .attribute(
                Attribute::required("mesh", Type::String)
                    .description("The mesh: a name or `projects/P/locations/global/meshes/M`."),
            )
            .attribute(
                Attribute::optional_computed("project", Type::String)
                    .description("Project of the mesh and its routes; default: the provider's."),
            )
            .attribute(
                Attribute::computed("id", Type::String)
                    .description("`projects/P/locations/global/meshes/M`."),
            )
            .attribute(
                Attribute::computed(
                    "hostnames",
                    list(Type::object([
                        ("hostname", Type::String),
                        ("route", Type::String),
                        ("rules", list(rule())),
                    ])),
                )
                .description(
                    "One entry per hostname, sorted: the HTTPRoute (`route`, its name) and its `rules` in order. \
                     A rule's `matches` are OR-ed (`path prefix /api`, `header end-user = jason`; empty: every \
                     request); its `destinations` name the `backend_service`, the Cloud Run `service` and \
                     `region` behind its serverless NEG (null when none is found) and the `weight` (null when \
                     the route gives none: equal shares).",
                ),
            )
            .attribute(
                Attribute::computed(
                    "services",
                    list(Type::object([
                        ("name", Type::String),
                        ("region", Type::String),
                        ("uri", Type::String),
                        ("service_account", Type::String),
                        ("mesh_client", Type::Bool),
                        ("invokers", strings()),
                    ])),
                )
                .description(
                    "The Cloud Run services behind the routes and the mesh clients of the mesh (their revision \
                     template names it in `serviceMesh`), sorted by name: the `run.app` `uri`, the runtime `service_account` and the \
                     `roles/run.invoker` members (`invokers`).",
                ),
            )
            .attribute(
                Attribute::computed(
                    "calls",
                    list(Type::object([
                        ("caller", Type::String),
                        ("service", Type::String),
                    ])),
                )
                .description(
                    "Who may call whom: a `caller` among `services` whose service account (or `allUsers`, \
                     `allAuthenticatedUsers`) holds `roles/run.invoker` on `service`.",
                ),
            )
            .attribute(Attribute::computed("mermaid", Type::String).description(
                "A Mermaid flowchart of hostnames, routing (solid, labelled with the rule and weight) and invokers \
                 (dotted): put it in a ```` ```mermaid ```` fence and GitHub draws it.",
            )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_passes_terraform_rules() {
        assert_eq!(schema().check(), vec![]);
    }

    #[test]
    fn only_mesh_and_project_are_settable() {
        let s = schema();
        let settable: Vec<&str> = s
            .block
            .attributes
            .iter()
            .filter(|a| a.required || a.optional)
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(settable, ["mesh", "project"]);
        assert!(
            s.block.blocks.is_empty(),
            "blocks cannot be computed on Terraform 1.0"
        );
    }
}

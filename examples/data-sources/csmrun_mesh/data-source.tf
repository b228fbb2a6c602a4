# The mesh as its sidecars route it, whoever made its routes: hostnames, rules, weights, who may call whom.
data "csmrun_mesh" "meshapps" {
  mesh = "meshapps"
}

output "mesh_hostnames" {
  value = { for h in data.csmrun_mesh.meshapps.hostnames : h.hostname => h.rules }
}

output "mesh_calls" {
  value = [for c in data.csmrun_mesh.meshapps.calls : "${c.caller} -> ${c.service}"]
}

# Paste into a pull-request comment inside a ```mermaid fence and GitHub draws it.
output "mesh_mermaid" {
  value = data.csmrun_mesh.meshapps.mermaid
}

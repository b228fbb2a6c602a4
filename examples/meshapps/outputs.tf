output "mesh_urls" {
  description = "What a mesh client dials, per service."
  value = {
    for s in [
      csmrun_service.client, csmrun_service.proxy, csmrun_service.target1, csmrun_service.target2,
      csmrun_service.target3, csmrun_service.target, csmrun_service.target_green,
    ] : s.name => s.url
  }
}

output "run_app_urls" {
  description = "The Cloud Run URLs (ingress internal: reachable from the VPC only)."
  value = {
    for s in [
      csmrun_service.client, csmrun_service.proxy, csmrun_service.target1, csmrun_service.target2,
      csmrun_service.target3, csmrun_service.target, csmrun_service.target_green,
    ] : s.name => s.uri
  }
}

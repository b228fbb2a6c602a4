terraform {
  required_providers {
    csmrun = {
      source = "csmrun/csmrun"
    }
  }
}

# Credentials come from GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN or Application Default
# Credentials (workload identity federation in CI); project and region from the GOOGLE_* variables
# when not set here.
provider "csmrun" {
  project = "my-project"
  region  = "asia-northeast1"

  # Wait this long after csmrun newly grants roles/trafficdirector.client before deploying,
  # so the mesh sidecar can fetch its config. An existing grant costs no wait.
  iam_propagation_wait = "90s"
  # A service joins a mesh only once the mesh is at least this old.
  mesh_settle_time = "60s"

  default_labels = {
    team = "payments"
  }
}

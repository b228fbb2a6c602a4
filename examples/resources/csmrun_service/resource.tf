# A destination service, reached by mesh clients at http://target.meshapps.internal, that sends
# 1% of its traffic to a green deployment and lets only the proxy's service account call it.
resource "csmrun_service" "target" {
  name            = "target"
  image           = "asia-northeast1-docker.pkg.dev/my-project/apps/target:1.2.0"
  mesh            = "meshapps"
  domain          = "meshapps.internal"
  network         = "mesh-vpc"
  subnetwork      = "mesh-subnet"
  service_account = "meshapps-target@my-project.iam.gserviceaccount.com"

  env = {
    LOG_LEVEL = "info"
  }
  max_instances = 10
  invokers      = ["serviceAccount:meshapps-proxy@my-project.iam.gserviceaccount.com"]
  trace         = true

  route {
    timeout = "10s"
    weight  = 99

    retry {
      attempts        = 3
      per_try_timeout = "2s"
      conditions      = ["5xx", "connect-failure"]
    }

    destination {
      backend_service = csmrun_service.target_green.backend_service
      weight          = 1
    }
  }

  outlier_detection {
    consecutive_errors   = 5
    interval             = "1s"
    base_ejection_time   = "30s"
    max_ejection_percent = 50
  }
}

resource "csmrun_service" "target_green" {
  name            = "target-green"
  image           = "asia-northeast1-docker.pkg.dev/my-project/apps/target:1.3.0"
  mesh            = "meshapps"
  domain          = "meshapps.internal"
  network         = "mesh-vpc"
  subnetwork      = "mesh-subnet"
  service_account = "meshapps-target@my-project.iam.gserviceaccount.com"
  invokers        = ["serviceAccount:meshapps-proxy@my-project.iam.gserviceaccount.com"]
}

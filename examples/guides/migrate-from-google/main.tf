# The service "orders" was built with the google provider. This configuration replaces that one: the google
# resources leave Terraform's state without being destroyed (removed blocks, Terraform >= 1.7), and the
# csmrun_service takes the service over by discovery (import block, Terraform >= 1.5). The first plan shows
# one import and, at most, an in-place update that adds csmrun's labels; nothing is created or destroyed.
terraform {
  required_version = ">= 1.7"
  required_providers {
    csmrun = {
      source = "csmrun/csmrun"
    }
  }
}

provider "csmrun" {
  project = "my-project"
  region  = "asia-northeast1"
}

removed {
  from = google_cloud_run_v2_service.orders
  lifecycle {
    destroy = false
  }
}

removed {
  from = google_cloud_run_v2_service_iam_member.orders_invoker
  lifecycle {
    destroy = false
  }
}

removed {
  from = google_compute_region_network_endpoint_group.orders
  lifecycle {
    destroy = false
  }
}

removed {
  from = google_compute_backend_service.orders
  lifecycle {
    destroy = false
  }
}

removed {
  from = google_network_services_http_route.orders
  lifecycle {
    destroy = false
  }
}

removed {
  from = google_project_iam_member.orders_trafficdirector_client
  lifecycle {
    destroy = false
  }
}

removed {
  from = time_sleep.orders_iam_propagation
  lifecycle {
    destroy = false
  }
}

import {
  to = csmrun_service.orders
  id = "projects/my-project/locations/asia-northeast1/services/orders"
}

resource "csmrun_service" "orders" {
  name            = "orders"
  image           = "asia-northeast1-docker.pkg.dev/my-project/apps/orders:3.1.0"
  mesh            = "meshapps"
  domain          = "meshapps.internal"
  network         = "mesh-vpc"
  subnetwork      = "mesh-subnet"
  service_account = "orders@my-project.iam.gserviceaccount.com"
  invokers        = ["serviceAccount:checkout@my-project.iam.gserviceaccount.com"]
}

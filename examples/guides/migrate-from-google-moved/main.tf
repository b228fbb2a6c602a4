# The service "orders" was built with the google provider. With Terraform >= 1.8 one moved block hands its
# google_cloud_run_v2_service to the csmrun_service, which discovers the other parts on the first refresh as
# import does; the other google resources leave Terraform's state without being destroyed (removed blocks).
# The first plan shows the move and the removals, nothing to add, change or destroy.
terraform {
  required_version = ">= 1.8"
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

moved {
  from = google_cloud_run_v2_service.orders
  to   = csmrun_service.orders
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

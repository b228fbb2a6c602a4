# The Cloud Service Mesh on Cloud Run walkthrough as csmrun_service resources:
#
#   client -> proxy -> target1       only the proxy may invoke target1, so client cannot call it
#   client -> target23               50:50 between target2 and target3
#   client -> target                 blue/green canary: 99 to target, 1 to target-green; end-user: jason to green
#
# The mesh, the VPC, its subnet (with Private Google Access) and the service accounts are inputs;
# csmrun_service creates everything else: the Cloud Run services, NEGs, backend services,
# HTTPRoutes, the shared private DNS zone and wildcard record, and the IAM the sidecars need.

provider "csmrun" {
  project              = var.project
  region               = var.region
  iam_propagation_wait = var.iam_propagation_wait
  mesh_settle_time     = var.mesh_settle_time
}

locals {
  mesh       = "meshapps"
  domain     = "meshapps.internal"
  network    = "mesh-vpc"
  subnetwork = "mesh-subnet"

  sa = {
    for who in ["client", "proxy", "target1", "target2", "target3", "target"] :
    who => "meshapps-${who}@${var.project}.iam.gserviceaccount.com"
  }
  client_only = ["serviceAccount:${local.sa.client}"]
}

resource "csmrun_service" "client" {
  name            = "client"
  image           = var.image
  mesh            = local.mesh
  domain          = local.domain
  network         = local.network
  subnetwork      = local.subnetwork
  service_account = local.sa.client
  invokers        = var.client_invokers

  env = {
    PROXY_URL    = csmrun_service.proxy.url
    TARGET1_URL  = csmrun_service.target1.url
    TARGET23_URL = csmrun_service.target2.url
    TARGET_URL   = csmrun_service.target.url
  }
}

resource "csmrun_service" "proxy" {
  name            = "proxy"
  image           = var.image
  mesh            = local.mesh
  domain          = local.domain
  network         = local.network
  subnetwork      = local.subnetwork
  service_account = local.sa.proxy
  invokers        = local.client_only

  env = {
    TARGET_URL = csmrun_service.target1.url
  }
}

resource "csmrun_service" "target1" {
  name            = "target1"
  image           = var.image
  mesh            = local.mesh
  domain          = local.domain
  network         = local.network
  subnetwork      = local.subnetwork
  service_account = local.sa.target1
  # Only the proxy: a call from the client straight to target1 is refused (403).
  invokers = ["serviceAccount:${local.sa.proxy}"]
}

# http://target23.meshapps.internal answers from target2 and target3, half each.
resource "csmrun_service" "target2" {
  name            = "target2"
  hostname        = "target23.${local.domain}"
  image           = var.image
  mesh            = local.mesh
  domain          = local.domain
  network         = local.network
  subnetwork      = local.subnetwork
  service_account = local.sa.target2
  invokers        = local.client_only

  route {
    weight = 50

    destination {
      backend_service = csmrun_service.target3.backend_service
      weight          = 50
    }
  }
}

resource "csmrun_service" "target3" {
  name            = "target3"
  image           = var.image
  mesh            = local.mesh
  domain          = local.domain
  network         = local.network
  subnetwork      = local.subnetwork
  service_account = local.sa.target3
  invokers        = local.client_only
}

# Blue/green: http://target.meshapps.internal sends 1% of requests to target-green, and every request of
# the user jason (header `end-user: jason`) to target-green.
resource "csmrun_service" "target" {
  name            = "target"
  image           = var.image
  mesh            = local.mesh
  domain          = local.domain
  network         = local.network
  subnetwork      = local.subnetwork
  service_account = local.sa.target
  invokers        = local.client_only

  route {
    weight = 99

    destination {
      backend_service = csmrun_service.target_green.backend_service
      weight          = 1
    }

    rule {
      header {
        name  = "end-user"
        exact = "jason"
      }

      destination {
        backend_service = csmrun_service.target_green.backend_service
        weight          = 100
      }
    }
  }
}

resource "csmrun_service" "target_green" {
  name            = "target-green"
  image           = var.image
  mesh            = local.mesh
  domain          = local.domain
  network         = local.network
  subnetwork      = local.subnetwork
  service_account = local.sa.target
  invokers        = local.client_only
}

variable "project" {
  description = "Project that holds the mesh, the VPC and the service accounts."
  type        = string
  default     = "demo-project"
}

variable "region" {
  description = "Region of the Cloud Run services and their serverless NEGs."
  type        = string
  default     = "asia-northeast1"
}

variable "image" {
  description = "Container image every service of the walkthrough runs."
  type        = string
  default     = "us-docker.pkg.dev/cloudrun/container/hello:latest"
}

variable "iam_propagation_wait" {
  description = "Wait after newly granting roles/trafficdirector.client. Keep the default against Google Cloud; scripts/demo lowers it for the emulator."
  type        = string
  default     = "90s"
}

variable "mesh_settle_time" {
  description = "Minimum age of the mesh before a service joins it."
  type        = string
  default     = "60s"
}

variable "client_invokers" {
  description = "Who may call the client service (for example user:you@example.com); nobody by default."
  type        = list(string)
  default     = []
}

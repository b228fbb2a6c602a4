//! Google Cloud REST clients for csmrun; knows nothing of Terraform.

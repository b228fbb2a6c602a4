//! tfplug: a Terraform plugin protocol 6 framework.

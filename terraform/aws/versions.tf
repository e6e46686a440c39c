terraform {
  # 1.9 is the first release whose variable validations may refer to other
  # variables (key_name / public_key below).
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 6.0.0"
    }
  }
}

locals {
  # Terraform checks a variable's validations before it evaluates anything
  # that refers to the variable. The provider configuration below refers to
  # every validated input through this value, so bad input stops the run with
  # its own message before any data source is read or resource is planned.
  validated_inputs = jsonencode([
    var.name, var.allowed_cidrs, var.vpc_cidr, var.control_plane_count, var.control_plane_instance_type,
    var.gpu_node_count, var.gpu_instance_type, var.root_volume_size, var.key_name, var.public_key,
    var.region, var.availability_zone,
  ])
}

provider "aws" {
  region = local.validated_inputs != "" ? var.region : null

  default_tags {
    tags = local.tags
  }
}

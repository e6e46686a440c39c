# Input that must be refused by variable validation, before any resource is
# planned. The messages themselves are checked by
# tests/integration/provision/run.sh (terraform plan must fail and print them).

mock_provider "aws" {}

variables {
  allowed_cidrs = ["203.0.113.0/24"]
  public_key    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0cGVzdGtleWZvcnRlcnJhZm9ybXRlc3RzMDAwMDAwMDAw test@example"
}

run "non_gpu_instance_type_is_refused" {
  command = plan
  variables {
    gpu_instance_type = "m5.xlarge"
  }
  expect_failures = [var.gpu_instance_type]
}

run "amd_gpu_instance_type_is_refused" {
  command = plan
  variables {
    gpu_instance_type = "g4ad.xlarge"
  }
  expect_failures = [var.gpu_instance_type]
}

run "empty_allowed_cidrs_is_refused" {
  command = plan
  variables {
    allowed_cidrs = []
  }
  expect_failures = [var.allowed_cidrs]
}

run "malformed_cidr_is_refused" {
  command = plan
  variables {
    allowed_cidrs = ["203.0.113.0/24", "10.0.0.300/24"]
  }
  expect_failures = [var.allowed_cidrs]
}

run "address_without_prefix_is_refused" {
  command = plan
  variables {
    allowed_cidrs = ["203.0.113.7"]
  }
  expect_failures = [var.allowed_cidrs]
}

run "host_bits_in_cidr_are_refused" {
  command = plan
  variables {
    allowed_cidrs = ["10.1.2.3/24"]
  }
  expect_failures = [var.allowed_cidrs]
}

run "whole_internet_is_refused" {
  command = plan
  variables {
    allowed_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.allowed_cidrs]
}

run "zero_gpu_nodes_is_refused" {
  command = plan
  variables {
    gpu_node_count = 0
  }
  expect_failures = [var.gpu_node_count]
}

run "even_control_plane_count_is_refused" {
  command = plan
  variables {
    control_plane_count = 2
  }
  expect_failures = [var.control_plane_count]
}

run "both_key_name_and_public_key_is_refused" {
  command = plan
  variables {
    key_name = "ops"
  }
  expect_failures = [var.public_key]
}

run "no_ssh_key_is_refused" {
  command = plan
  variables {
    public_key = null
  }
  expect_failures = [var.public_key]
}

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

run "halves_that_cover_the_internet_are_refused" {
  command = plan
  variables {
    allowed_cidrs = ["0.0.0.0/1", "128.0.0.0/1"]
  }
  expect_failures = [var.allowed_cidrs]
}

run "network_larger_than_a_slash_8_is_refused" {
  command = plan
  variables {
    allowed_cidrs = ["203.0.113.0/24", "64.0.0.0/7"]
  }
  expect_failures = [var.allowed_cidrs]
}

run "many_slash_8s_that_add_up_are_refused" {
  command = plan
  variables {
    allowed_cidrs = [for i in range(1, 18) : "${i}.0.0.0/8"]
  }
  expect_failures = [var.allowed_cidrs]
}

run "nested_networks_count_once" {
  command = plan
  variables {
    # Sixteen /8s are exactly the limit; the /16 and /24 inside them add nothing.
    allowed_cidrs = concat([for i in range(1, 17) : "${i}.0.0.0/8"], ["1.2.0.0/16", "16.1.2.0/24"])
  }
  assert {
    condition     = anytrue([for r in aws_security_group.nodes.ingress : r.from_port == 22 && try(length(r.cidr_blocks), 0) == 18])
    error_message = "Sixteen /8 networks, with networks inside them, are accepted and opened to SSH."
  }
}

run "one_network_past_the_limit_is_refused" {
  command = plan
  variables {
    allowed_cidrs = concat([for i in range(1, 17) : "${i}.0.0.0/8"], ["200.0.0.0/24"])
  }
  expect_failures = [var.allowed_cidrs]
}

run "availability_zone_of_another_region_is_refused" {
  command = plan
  variables {
    region            = "us-east-1"
    availability_zone = "eu-west-1a"
  }
  expect_failures = [var.availability_zone]
}

run "availability_zone_that_only_starts_like_the_region_is_refused" {
  command = plan
  variables {
    region            = "us-east-1"
    availability_zone = "us-east-10a"
  }
  expect_failures = [var.availability_zone]
}

run "zone_and_local_zone_of_the_region_are_accepted" {
  command = plan
  variables {
    region            = "us-west-2"
    availability_zone = "us-west-2-lax-1a"
  }
  assert {
    condition     = aws_subnet.public[0].availability_zone == "us-west-2-lax-1a"
    error_message = "The created subnet must be placed in availability_zone."
  }
}

run "more_gpu_nodes_than_the_module_makes_are_refused" {
  command = plan
  variables {
    gpu_node_count = 1025
    subnet_id      = "subnet-0123456789abcdef0"
  }
  expect_failures = [var.gpu_node_count]
}

run "more_nodes_than_the_created_subnet_holds_are_refused" {
  command = plan
  variables {
    vpc_cidr       = "10.42.0.0/24"
    gpu_node_count = 11
  }
  expect_failures = [var.gpu_node_count]
}

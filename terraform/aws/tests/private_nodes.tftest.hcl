# Nodes without a public address (associate_public_ip = false, reached over a
# VPN or a bastion): Ansible must connect to their private address.

mock_provider "aws" {}

variables {
  allowed_cidrs       = ["10.0.0.0/8"]
  key_name            = "ops"
  associate_public_ip = false
}

run "private_nodes_are_reached_on_their_private_address" {
  command = apply

  override_resource {
    target = aws_instance.node
    values = {
      public_ip  = ""
      private_ip = "10.42.0.10"
    }
  }

  assert {
    condition     = alltrue([for h in output.hosts : h.ansible_host == "10.42.0.10"])
    error_message = "Without a public address, ansible_host falls back to the private one."
  }
}

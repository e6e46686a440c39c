# What the module plans and outputs, proven offline against a mocked AWS
# provider: `terraform test` (no credentials, no network). Runs in one file
# share state, so the plan runs come first and the apply run last.

mock_provider "aws" {}

variables {
  allowed_cidrs = ["203.0.113.0/24", "198.51.100.7/32"]
  public_key    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0cGVzdGtleWZvcnRlcnJhZm9ybXRlc3RzMDAwMDAwMDAw test@example"
}

run "security_group_opens_ssh_and_api_to_allowed_cidrs_only" {
  command = plan

  assert {
    condition     = length(aws_security_group.nodes.ingress) == 3
    error_message = "Expected exactly three ingress rules (SSH, Kubernetes API, node-to-node), got ${length(aws_security_group.nodes.ingress)}."
  }
  assert {
    condition     = anytrue([for r in aws_security_group.nodes.ingress : r.from_port == 22 && r.to_port == 22 && r.protocol == "tcp" && toset(r.cidr_blocks) == toset(var.allowed_cidrs)])
    error_message = "SSH (22/tcp) must be open to allowed_cidrs exactly."
  }
  assert {
    condition     = anytrue([for r in aws_security_group.nodes.ingress : r.from_port == 6443 && r.to_port == 6443 && r.protocol == "tcp" && toset(r.cidr_blocks) == toset(var.allowed_cidrs)])
    error_message = "The Kubernetes API (6443/tcp) must be open to allowed_cidrs exactly."
  }
  assert {
    condition     = anytrue([for r in aws_security_group.nodes.ingress : r.self == true && r.protocol == "-1" && try(length(r.cidr_blocks), 0) == 0])
    error_message = "Nodes must reach each other on every port through a self-referencing rule, and only through it."
  }
  assert {
    condition     = alltrue([for r in aws_security_group.nodes.ingress : try(!contains(r.cidr_blocks, "0.0.0.0/0"), true)])
    error_message = "No ingress rule may be open to 0.0.0.0/0."
  }
  assert {
    condition     = alltrue([for r in aws_security_group.nodes.ingress : r.description != null && r.description != ""])
    error_message = "Every ingress rule says what it is for."
  }
}

run "nodes_require_imdsv2_and_encrypted_gp3_root_volumes" {
  command = plan

  assert {
    condition     = alltrue([for n in aws_instance.node : n.metadata_options[0].http_tokens == "required" && n.metadata_options[0].http_endpoint == "enabled" && n.metadata_options[0].http_put_response_hop_limit == 1])
    error_message = "Every node must require IMDSv2 tokens with a hop limit of 1."
  }
  assert {
    condition     = alltrue([for n in aws_instance.node : n.root_block_device[0].encrypted && n.root_block_device[0].volume_type == "gp3" && n.root_block_device[0].volume_size == 100])
    error_message = "Every root volume must be an encrypted 100 GiB gp3 volume by default."
  }
  assert {
    condition     = alltrue([for n in aws_instance.node : n.ebs_optimized && length(n.instance_market_options) == 0])
    error_message = "Nodes are EBS-optimized and on demand by default."
  }
}

run "default_is_one_control_plane_and_one_gpu_node" {
  command = plan

  assert {
    condition     = keys(aws_instance.node) == ["kubegpu-cp-1", "kubegpu-gpu-1"]
    error_message = "Defaults: one control-plane node and one GPU node, got ${jsonencode(keys(aws_instance.node))}."
  }
  assert {
    condition     = aws_instance.node["kubegpu-gpu-1"].instance_type == "g6.xlarge" && aws_instance.node["kubegpu-cp-1"].instance_type == "m6i.large"
    error_message = "Default types: g6.xlarge for GPU nodes, m6i.large for the control plane."
  }
  assert {
    condition     = length(data.aws_ami.ubuntu) == 1 && toset(data.aws_ami.ubuntu[0].owners) == toset(["099720109477"]) && strcontains(one([for f in data.aws_ami.ubuntu[0].filter : one(f.values) if f.name == "name"]), "ubuntu-noble-24.04-amd64")
    error_message = "Without ami_id, the image is Ubuntu 24.04 amd64 from Canonical's account."
  }
  assert {
    condition     = length(aws_vpc.this) == 1 && aws_subnet.public[0].cidr_block == "10.42.0.0/20" && aws_subnet.public[0].map_public_ip_on_launch
    error_message = "A VPC and one public subnet that gives the nodes public addresses are created when subnet_id is not set."
  }
  assert {
    condition     = length(aws_key_pair.this) == 1 && aws_key_pair.this[0].key_name == "kubegpu"
    error_message = "public_key is imported as a key pair named after the cluster."
  }
}

run "counts_and_types_follow_the_variables" {
  command = plan

  variables {
    name                        = "lab"
    control_plane_count         = 3
    control_plane_instance_type = "m6i.xlarge"
    gpu_node_count              = 4
    gpu_instance_type           = "p5.48xlarge"
    root_volume_size            = 250
  }

  assert {
    condition     = length([for n in aws_instance.node : n if n.tags["kubegpu:group"] == "kube_control_plane"]) == 3
    error_message = "Expected 3 control-plane nodes."
  }
  assert {
    condition     = length([for n in aws_instance.node : n if n.tags["kubegpu:group"] == "gpu_nodes" && n.instance_type == "p5.48xlarge"]) == 4
    error_message = "Expected 4 GPU nodes of type p5.48xlarge."
  }
  assert {
    condition     = alltrue([for n in aws_instance.node : n.root_block_device[0].volume_size == 250])
    error_message = "root_volume_size applies to every node."
  }
  assert {
    condition     = contains(keys(aws_instance.node), "lab-gpu-4") && contains(keys(aws_instance.node), "lab-cp-3")
    error_message = "Host names are <name>-cp-<n> and <name>-gpu-<n>."
  }
}

run "spot_applies_to_gpu_nodes_only" {
  command = plan

  variables {
    spot = true
  }

  assert {
    condition     = aws_instance.node["kubegpu-gpu-1"].instance_market_options[0].market_type == "spot" && length(aws_instance.node["kubegpu-cp-1"].instance_market_options) == 0
    error_message = "spot = true makes the GPU nodes spot instances and leaves the control plane on demand."
  }
}

run "explicit_ami_skips_the_lookup" {
  command = plan

  variables {
    ami_id = "ami-0123456789abcdef0"
  }

  assert {
    condition     = length(data.aws_ami.ubuntu) == 0 && alltrue([for n in aws_instance.node : n.ami == "ami-0123456789abcdef0"])
    error_message = "ami_id is used as is, with no image lookup."
  }
}

run "existing_subnet_creates_no_network" {
  command = plan

  variables {
    subnet_id = "subnet-0existing"
  }

  override_data {
    target = data.aws_subnet.existing
    values = {
      vpc_id = "vpc-0existing"
    }
  }

  assert {
    condition     = length(aws_vpc.this) == 0 && length(aws_subnet.public) == 0 && length(aws_internet_gateway.this) == 0 && length(aws_default_security_group.this) == 0
    error_message = "With subnet_id set, no VPC, subnet, gateway or default group is managed."
  }
  assert {
    condition     = aws_security_group.nodes.vpc_id == "vpc-0existing" && alltrue([for n in aws_instance.node : n.subnet_id == "subnet-0existing" && n.associate_public_ip_address == true])
    error_message = "Nodes and their security group go into the given subnet's VPC, and each node asks for a public address."
  }
}

run "existing_key_pair_is_used_as_is" {
  command = plan

  variables {
    public_key = null
    key_name   = "ops"
  }

  assert {
    condition     = length(aws_key_pair.this) == 0 && alltrue([for n in aws_instance.node : n.key_name == "ops"])
    error_message = "key_name is used as is, and no key pair is imported."
  }
}

run "outputs_are_an_ansible_inventory" {
  command = apply

  assert {
    condition     = length(output.hosts) == 2
    error_message = "One host entry per node."
  }
  assert {
    condition = alltrue([for h in output.hosts : toset(keys(h)) == toset([
      "name", "groups", "ansible_host", "ansible_user", "public_ip", "private_ip", "instance_id", "instance_type",
    ])])
    error_message = "Each host carries name, groups, ansible_host, ansible_user, public_ip, private_ip, instance_id and instance_type."
  }
  assert {
    condition     = [for h in output.hosts : h.groups] == [["kube_control_plane"], ["gpu_nodes"]]
    error_message = "The control-plane node is in kube_control_plane, the GPU node in gpu_nodes."
  }
  assert {
    condition     = alltrue([for h in output.hosts : h.ansible_user == "ubuntu" && h.ansible_host == aws_instance.node[h.name].public_ip && h.private_ip == aws_instance.node[h.name].private_ip])
    error_message = "ansible_host is the public address, ansible_user the image's login user."
  }
  assert {
    condition     = keys(output.inventory.all.children) == ["gpu_nodes", "kube_control_plane"] && keys(output.inventory.all.children.gpu_nodes.hosts) == ["kubegpu-gpu-1"] && keys(output.inventory.all.children.kube_control_plane.hosts) == ["kubegpu-cp-1"]
    error_message = "The inventory output groups the hosts as Ansible expects."
  }
  assert {
    condition     = output.inventory.all.children.gpu_nodes.hosts["kubegpu-gpu-1"].kubegpu_private_ip == aws_instance.node["kubegpu-gpu-1"].private_ip
    error_message = "The inventory carries each node's private address."
  }
  assert {
    condition     = length(aws_default_security_group.this) == 1 && aws_default_security_group.this[0].vpc_id == aws_vpc.this[0].id && length(aws_default_security_group.this[0].ingress) == 0 && length(aws_default_security_group.this[0].egress) == 0
    error_message = "The created VPC's default security group is taken over and left without rules."
  }
}

locals {
  tags = merge(var.tags, {
    "kubegpu:cluster" = var.name
    ManagedBy         = "terraform"
  })

  create_network = var.subnet_id == null
  vpc_id         = local.create_network ? aws_vpc.this[0].id : data.aws_subnet.existing[0].vpc_id
  subnet_id      = local.create_network ? aws_subnet.public[0].id : var.subnet_id
  ami_id         = var.ami_id != null ? var.ami_id : data.aws_ami.ubuntu[0].id
  key_name       = var.public_key != null ? aws_key_pair.this[0].key_name : var.key_name

  # One entry per node, keyed by host name. The group is the Ansible group the
  # later stages of the collection target.
  nodes = merge(
    { for i in range(var.control_plane_count) : format("%s-cp-%d", var.name, i + 1) => {
      group         = "kube_control_plane"
      instance_type = var.control_plane_instance_type
      spot          = false
    } },
    { for i in range(var.gpu_node_count) : format("%s-gpu-%d", var.name, i + 1) => {
      group         = "gpu_nodes"
      instance_type = var.gpu_instance_type
      spot          = var.spot
    } },
  )
}

# --- Network: a VPC with one public subnet, unless subnet_id is given --------

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:Flow logs need a log destination and its IAM role, which belong to the account's logging baseline, not to a node module; enable them there.
  count = local.create_network ? 1 : 0

  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = var.name }
}

# Take over the VPC's default security group and leave it without rules, so
# nothing attached to it by accident can talk to anything.
resource "aws_default_security_group" "this" {
  count = local.create_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = { Name = "${var.name}-default-unused" }
}

resource "aws_internet_gateway" "this" {
  count = local.create_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = { Name = var.name }
}

resource "aws_subnet" "public" {
  #checkov:skip=CKV_AWS_130:This subnet holds only the cluster's nodes, which Ansible reaches on their public address by default (associate_public_ip); SSH and 6443 stay limited to allowed_cidrs.
  count = local.create_network ? 1 : 0

  vpc_id            = aws_vpc.this[0].id
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, 0)
  availability_zone = var.availability_zone
  # The subnet this module creates hands out the public addresses; nodes in
  # it are launched with a plain security-group list (see aws_instance.node).
  map_public_ip_on_launch = var.associate_public_ip

  tags = { Name = "${var.name}-public" }
}

resource "aws_route_table" "public" {
  count = local.create_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }

  tags = { Name = "${var.name}-public" }
}

resource "aws_route_table_association" "public" {
  count = local.create_network ? 1 : 0

  subnet_id      = aws_subnet.public[0].id
  route_table_id = aws_route_table.public[0].id
}

data "aws_subnet" "existing" {
  count = local.create_network ? 0 : 1

  id = var.subnet_id
}

# --- Security group: administrators in, nodes among themselves ---------------

resource "aws_security_group" "nodes" {
  #checkov:skip=CKV_AWS_24:SSH is open to var.allowed_cidrs only; that variable has no default and its validation refuses any /0 network.
  #checkov:skip=CKV_AWS_382:Nodes must reach package mirrors, container registries and NVIDIA's download servers, whose addresses are not fixed; inbound stays restricted.
  name        = "${var.name}-nodes"
  description = "kubegpu ${var.name}: SSH and Kubernetes API from allowed_cidrs, all traffic between nodes"
  vpc_id      = local.vpc_id

  ingress {
    description = "SSH from allowed_cidrs"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = var.allowed_cidrs
  }

  ingress {
    description = "Kubernetes API from allowed_cidrs"
    from_port   = 6443
    to_port     = 6443
    protocol    = "tcp"
    cidr_blocks = var.allowed_cidrs
  }

  ingress {
    description = "All traffic between nodes of this cluster (kubelet, CNI, etcd)"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    self        = true
  }

  egress {
    description = "Outbound: packages, images, drivers"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = { Name = "${var.name}-nodes" }
}

# --- Image and key -----------------------------------------------------------

data "aws_ami" "ubuntu" {
  count = var.ami_id == null ? 1 : 0

  most_recent = true
  owners      = var.ami_owners

  filter {
    name   = "name"
    values = [var.ami_name_pattern]
  }

  filter {
    name   = "architecture"
    values = ["x86_64"]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

resource "aws_key_pair" "this" {
  count = var.public_key != null ? 1 : 0

  key_name   = var.name
  public_key = var.public_key
}

# --- Nodes -------------------------------------------------------------------

resource "aws_instance" "node" {
  #checkov:skip=CKV_AWS_88:A public address is how Ansible reaches the nodes by default; SSH and 6443 are open to allowed_cidrs only. Set associate_public_ip = false behind a VPN or bastion.
  #checkov:skip=CKV2_AWS_41:The nodes call no AWS API; an instance profile would only add credentials for pods to steal.
  for_each = local.nodes

  ami                    = local.ami_id
  instance_type          = each.value.instance_type
  subnet_id              = local.subnet_id
  vpc_security_group_ids = [aws_security_group.nodes.id]
  key_name               = local.key_name
  # In the created subnet the subnet decides (map_public_ip_on_launch); only in
  # a subnet of yours is the address requested per instance. Same result on
  # AWS, but a per-instance request makes the provider launch through a
  # network-interface spec, whose security groups AWS API emulators such as
  # moto do not report back on the instance (endless drift there).
  associate_public_ip_address = local.create_network ? null : var.associate_public_ip
  ebs_optimized               = true
  monitoring                  = var.detailed_monitoring

  # IMDSv2 only, and one hop: containers on the node cannot reach the
  # instance metadata through the node's network namespace.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    encrypted             = true
    kms_key_id            = var.root_volume_kms_key_id
    delete_on_termination = true
  }

  dynamic "instance_market_options" {
    for_each = each.value.spot ? [1] : []
    content {
      market_type = "spot"
    }
  }

  tags = {
    Name            = each.key
    "kubegpu:group" = each.value.group
    "kubegpu:gpu"   = each.value.group == "gpu_nodes" ? "true" : "false"
  }

  lifecycle {
    # A newer Ubuntu image published after the first apply must not replace
    # running nodes; set ami_id and taint a node to move it on purpose.
    ignore_changes = [ami]
  }
}

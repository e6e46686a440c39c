variable "name" {
  description = "Cluster name: prefix of every resource name and host name."
  type        = string
  default     = "kubegpu"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.name))
    error_message = "name must be 2 to 32 characters of lower-case letters, digits and hyphens, starting with a letter (it becomes part of host names); got \"${var.name}\"."
  }
}

variable "region" {
  description = "AWS region to create the cluster in."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name such as \"us-east-1\" or \"eu-central-1\"; got \"${var.region}\"."
  }
}

variable "tags" {
  description = "Tags added to every resource, on top of kubegpu:cluster and ManagedBy."
  type        = map(string)
  default     = {}
}

# --- Network ---------------------------------------------------------------

variable "allowed_cidrs" {
  description = "IPv4 networks allowed to reach SSH (22) and the Kubernetes API (6443), e.g. [\"203.0.113.0/24\"]. Required: there is no open default."
  type        = list(string)

  validation {
    condition     = length(var.allowed_cidrs) > 0
    error_message = "allowed_cidrs is empty: list the IPv4 networks you administer the cluster from, e.g. [\"203.0.113.0/24\"] (SSH and the Kubernetes API are opened to these only)."
  }

  validation {
    condition     = alltrue([for c in var.allowed_cidrs : can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$", c)) && can(cidrhost(c, 0))])
    error_message = "allowed_cidrs must hold IPv4 networks in CIDR notation such as \"203.0.113.0/24\" or \"198.51.100.7/32\"; not valid: ${join(", ", [for c in var.allowed_cidrs : jsonencode(c) if !(can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$", c)) && can(cidrhost(c, 0)))])}."
  }

  validation {
    condition     = alltrue([for c in var.allowed_cidrs : !can(cidrhost(c, 0)) || try(cidrsubnet(c, 0, 0) == c, false)])
    error_message = "allowed_cidrs entries must be written as their network address (for example \"10.1.2.0/24\", not \"10.1.2.3/24\"); fix: ${join(", ", [for c in var.allowed_cidrs : "${c} -> ${cidrsubnet(c, 0, 0)}" if can(cidrsubnet(c, 0, 0)) && try(cidrsubnet(c, 0, 0) != c, false)])}."
  }

  validation {
    condition     = alltrue([for c in var.allowed_cidrs : try(tonumber(split("/", c)[1]) >= 8, true)])
    error_message = "allowed_cidrs must not hold a network larger than a /8 (a /0 is the whole internet): SSH and the Kubernetes API would be open to a large part of it. Too large: ${join(", ", [for c in var.allowed_cidrs : c if !try(tonumber(split("/", c)[1]) >= 8, true)])}. List the networks you administer from."
  }

  # Networks that are each small enough can still add up to the internet
  # (0.0.0.0/1 and 128.0.0.0/1, or 256 /8s): their union is counted, as the
  # sum over the networks that no other listed network holds (two CIDR
  # networks either nest or are disjoint). Malformed entries count 0: the
  # validations above name them.
  validation {
    condition = length(var.allowed_cidrs) == 0 || sum(concat([0], [
      for c in distinct([for a in var.allowed_cidrs : try(cidrsubnet(a, 0, 0), "")]) : pow(2, 32 - tonumber(split("/", c)[1]))
      if c != "" && !anytrue([
        for d in distinct([for a in var.allowed_cidrs : try(cidrsubnet(a, 0, 0), "")]) : d != "" && d != c && try(
        tonumber(split("/", d)[1]) <= tonumber(split("/", c)[1]) && cidrsubnet("${cidrhost(c, 0)}/${split("/", d)[1]}", 0, 0) == d, false)
      ])
    ])) <= 268435456
    error_message = "allowed_cidrs together cover more than a sixteenth of all IPv4 addresses (268435456, sixteen /8 networks): SSH and the Kubernetes API would be open to a large part of the internet. List the networks you administer from."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the VPC created when subnet_id is not set (/16 to /24); the public subnet takes its first sixteenth (a /20 of a /16)."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrsubnet(var.vpc_cidr, 4, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24, false)
    error_message = "vpc_cidr must be an IPv4 network from /16 to /24, e.g. \"10.42.0.0/16\"; got \"${var.vpc_cidr}\"."
  }
}

variable "subnet_id" {
  description = "An existing subnet to place the nodes in (its VPC is used). Null creates a VPC with one public subnet."
  type        = string
  default     = null
}

variable "availability_zone" {
  description = "Availability zone of the created subnet, in region (e.g. \"us-east-1b\"; a Local Zone such as \"us-west-2-lax-1a\" too). Null lets AWS choose; set it where your GPU type is offered."
  type        = string
  default     = null

  validation {
    condition     = var.availability_zone == null || can(regex("^${var.region}([a-z]|-[a-z0-9-]*[a-z0-9])$", var.availability_zone))
    error_message = "availability_zone \"${var.availability_zone == null ? "" : var.availability_zone}\" is not a zone of region \"${var.region}\": name a zone of that region (e.g. \"${var.region}a\"), set region to the zone's region, or leave availability_zone null."
  }
}

variable "associate_public_ip" {
  description = "Give each node a public IPv4 address (Ansible then connects to it). Set false when you reach the subnet privately (VPN, bastion)."
  type        = bool
  default     = true
}

# --- Nodes -----------------------------------------------------------------

variable "control_plane_count" {
  description = "Number of Kubernetes control-plane nodes (1, 3 or 5: etcd needs an odd number for quorum)."
  type        = number
  default     = 1

  validation {
    condition     = contains([1, 3, 5], var.control_plane_count)
    error_message = "control_plane_count must be 1, 3 or 5 (etcd needs an odd number of members for quorum); got ${var.control_plane_count}."
  }
}

variable "control_plane_instance_type" {
  description = "Instance type of the control-plane nodes (no GPU needed)."
  type        = string
  default     = "m6i.large"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.control_plane_instance_type))
    error_message = "control_plane_instance_type must look like \"m6i.large\"; got \"${var.control_plane_instance_type}\"."
  }
}

variable "gpu_node_count" {
  description = "Number of GPU worker nodes (at least 1)."
  type        = number
  default     = 1

  validation {
    condition     = var.gpu_node_count >= 1 && floor(var.gpu_node_count) == var.gpu_node_count
    error_message = "gpu_node_count must be a whole number of at least 1: this module exists to create GPU nodes; got ${var.gpu_node_count}."
  }

  # Terraform's range() makes at most 1024 values: the most nodes of one kind this module can make.
  validation {
    condition     = var.gpu_node_count <= 1024
    error_message = "gpu_node_count is ${var.gpu_node_count}: this module makes at most 1024 GPU nodes; make several clusters (name) instead."
  }

  # The subnet this module creates is a sixteenth of vpc_cidr, less the 5 addresses AWS reserves in every subnet.
  validation {
    condition     = var.subnet_id != null || try(var.control_plane_count + var.gpu_node_count <= pow(2, 28 - tonumber(split("/", var.vpc_cidr)[1])) - 5, true)
    error_message = "gpu_node_count is ${var.gpu_node_count}, but the subnet this module creates from vpc_cidr ${var.vpc_cidr} (its first sixteenth) holds ${try(pow(2, 28 - tonumber(split("/", var.vpc_cidr)[1])) - 5, "?")} instances, and control_plane_count takes ${var.control_plane_count} of them: lower gpu_node_count, give a larger vpc_cidr (a /16 holds 4091), or set subnet_id."
  }
}

variable "gpu_instance_type" {
  description = "Instance type of the GPU nodes: an x86_64 type with NVIDIA GPUs (g4dn, g5, g6, g6e, gr6, p3, p4d, p4de, p5, p5e, p5en, p6 families)."
  type        = string
  default     = "g6.xlarge"

  validation {
    condition     = can(regex("^(g4dn|g5|g6|g6e|g6f|gr6|gr6f|p3|p3dn|p4d|p4de|p5|p5e|p5en|p6-b200|p6-b300)\\.[0-9]*[a-z0-9]+$", var.gpu_instance_type))
    error_message = "gpu_instance_type \"${var.gpu_instance_type}\" is not an x86_64 NVIDIA GPU instance type. Use one of the families g4dn, g5, g6, g6e, g6f, gr6, gr6f, p3, p3dn, p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300, e.g. \"g6.xlarge\"."
  }
}

variable "spot" {
  description = "Run the GPU nodes as one-time spot instances (the control plane always stays on demand)."
  type        = bool
  default     = false
}

variable "root_volume_size" {
  description = "Root volume size in GiB (gp3, encrypted): room for the NVIDIA driver, CUDA container images and the kubelet."
  type        = number
  default     = 100

  validation {
    condition     = var.root_volume_size >= 30 && var.root_volume_size <= 16384
    error_message = "root_volume_size must be between 30 and 16384 GiB (the driver and CUDA images need at least 30); got ${var.root_volume_size}."
  }
}

variable "root_volume_kms_key_id" {
  description = "KMS key ARN for the root volumes. Null uses the account's default EBS key (volumes are encrypted either way)."
  type        = string
  default     = null
}

variable "detailed_monitoring" {
  description = "Enable one-minute CloudWatch metrics on every node."
  type        = bool
  default     = true
}

# --- Image and access ------------------------------------------------------

variable "ami_id" {
  description = "An explicit AMI (e.g. an image with the NVIDIA driver preinstalled). Null looks up the newest image matching ami_owners / ami_name_pattern."
  type        = string
  default     = null
}

variable "ami_owners" {
  description = "Owner account ids searched when ami_id is null (default: Canonical)."
  type        = list(string)
  default     = ["099720109477"]
}

variable "ami_name_pattern" {
  description = "Image name pattern searched when ami_id is null (default: Ubuntu 24.04 LTS, amd64, gp3)."
  type        = string
  default     = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
}

variable "ssh_user" {
  description = "The login user of the image (\"ubuntu\" on Ubuntu images)."
  type        = string
  default     = "ubuntu"
}

variable "key_name" {
  description = "Name of an existing EC2 key pair. Set this or public_key."
  type        = string
  default     = null
}

variable "public_key" {
  description = "An OpenSSH public key to import as a new key pair named after the cluster. Set this or key_name."
  type        = string
  default     = null

  validation {
    condition     = (var.public_key == null) != (var.key_name == null)
    error_message = "Set exactly one of key_name (an existing EC2 key pair) or public_key (an OpenSSH public key to import), so that Ansible can log in to the nodes."
  }

  validation {
    condition     = var.public_key == null || can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+", var.public_key))
    error_message = "public_key must be an OpenSSH public key line such as the content of ~/.ssh/id_ed25519.pub (starting with ssh-ed25519, ssh-rsa or ecdsa-sha2-*)."
  }
}

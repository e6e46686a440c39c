locals {
  hosts = [for name, node in local.nodes : {
    name          = name
    groups        = [node.group]
    ansible_host  = coalesce(aws_instance.node[name].public_ip, aws_instance.node[name].private_ip)
    ansible_user  = var.ssh_user
    public_ip     = aws_instance.node[name].public_ip
    private_ip    = aws_instance.node[name].private_ip
    instance_id   = aws_instance.node[name].id
    instance_type = aws_instance.node[name].instance_type
  }]
}

output "hosts" {
  description = "One entry per node: name, groups (kube_control_plane or gpu_nodes), ansible_host, ansible_user, public_ip, private_ip, instance_id, instance_type."
  value       = local.hosts
}

output "inventory" {
  description = "The same nodes as an Ansible inventory (`terraform output -json inventory > hosts.json`, then `ansible-playbook -i hosts.json ...`)."
  value = {
    all = {
      children = { for group in ["kube_control_plane", "gpu_nodes"] : group => {
        hosts = { for h in local.hosts : h.name => {
          ansible_host        = h.ansible_host
          ansible_user        = h.ansible_user
          kubegpu_private_ip  = h.private_ip
          kubegpu_public_ip   = h.public_ip
          kubegpu_instance_id = h.instance_id
        } if contains(h.groups, group) }
      } }
    }
  }
}

output "vpc_id" {
  description = "The VPC the nodes run in."
  value       = local.vpc_id
}

output "subnet_id" {
  description = "The subnet the nodes run in."
  value       = local.subnet_id
}

output "security_group_id" {
  description = "The nodes' security group."
  value       = aws_security_group.nodes.id
}

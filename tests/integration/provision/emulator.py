"""Compare what the AWS API emulator holds with what the provisioning stage did.

    emulator.py snapshot BASELINE.json
    emulator.py provisioned RECORD.json --name N --control-plane C --gpu G
        --control-plane-type T --gpu-type T --allowed-cidr CIDR [--allowed-cidr ...]
    emulator.py empty BASELINE.json --name N

The endpoint and credentials come from the environment (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, ...), as for Terraform.
"""

import argparse
import json
import os
import sys

import boto3

LIVE = ["pending", "running", "stopping", "stopped"]


def ec2():
    return boto3.client(
        "ec2",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
    )


def inventory(client):
    """Ids of everything the module could create, and live instances."""
    instances = [
        i
        for r in client.describe_instances(Filters=[{"Name": "instance-state-name", "Values": LIVE}])["Reservations"]
        for i in r["Instances"]
    ]
    return {
        "instances": sorted(i["InstanceId"] for i in instances),
        "vpcs": sorted(v["VpcId"] for v in client.describe_vpcs()["Vpcs"]),
        "subnets": sorted(s["SubnetId"] for s in client.describe_subnets()["Subnets"]),
        "security_groups": sorted(g["GroupId"] for g in client.describe_security_groups()["SecurityGroups"]),
        "internet_gateways": sorted(
            g["InternetGatewayId"] for g in client.describe_internet_gateways()["InternetGateways"]
        ),
        "route_tables": sorted(t["RouteTableId"] for t in client.describe_route_tables()["RouteTables"]),
        "key_pairs": sorted(k["KeyName"] for k in client.describe_key_pairs()["KeyPairs"]),
        "volumes": sorted(v["VolumeId"] for v in client.describe_volumes()["Volumes"] if v["State"] != "deleted"),
    }


class Checks:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def expect(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)

    def finish(self, title):
        for f in self.failures:
            print(f"  FAIL {f}", file=sys.stderr)
        print(f"{title}: {self.passed} checks passed, {len(self.failures)} failed")
        return 1 if self.failures else 0


def snapshot(args):
    with open(args.baseline, "w", encoding="utf-8") as f:
        json.dump(inventory(ec2()), f, indent=2)
    return 0


def check_security_group(client, c, group_ids, cidrs):
    """The nodes share one group: SSH and 6443 from cidrs only, everything from itself."""
    c.expect(len(group_ids) == 1, f"nodes are in {len(group_ids)} security groups, expected one shared group")
    if len(group_ids) == 1:
        (sg,) = client.describe_security_groups(GroupIds=list(group_ids))["SecurityGroups"]
        rules = {}
        for p in sg["IpPermissions"]:
            key = (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"))
            rules[key] = (
                sorted(r["CidrIp"] for r in p.get("IpRanges", [])),
                sorted(g["GroupId"] for g in p.get("UserIdGroupPairs", [])),
            )
        c.expect(
            rules.get(("tcp", 22, 22)) == (cidrs, []), f"SSH rule {rules.get(('tcp', 22, 22))}, expected {cidrs} only"
        )
        c.expect(
            rules.get(("tcp", 6443, 6443)) == (cidrs, []),
            f"Kubernetes API rule {rules.get(('tcp', 6443, 6443))}, expected {cidrs} only",
        )
        self_rule = [v for k, v in rules.items() if k[0] == "-1"]
        c.expect(self_rule == [([], [sg["GroupId"]])], f"node-to-node rule {self_rule}, expected the group itself only")
        c.expect(len(rules) == 3, f"{len(rules)} ingress rules, expected 3: {sorted(rules)}")
        c.expect(all("0.0.0.0/0" not in v[0] for v in rules.values()), "an ingress rule is open to 0.0.0.0/0")


def provisioned(args):
    client = ec2()
    with open(args.record, encoding="utf-8") as f:
        record = json.load(f)
    c = Checks()

    instances = [
        i
        for r in client.describe_instances(
            Filters=[
                {"Name": "instance-state-name", "Values": LIVE},
                {"Name": "tag:kubegpu:cluster", "Values": [args.name]},
            ]
        )["Reservations"]
        for i in r["Instances"]
    ]
    by_name = {next(t["Value"] for t in i["Tags"] if t["Key"] == "Name"): i for i in instances}

    def tag(instance, key):
        return next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == key), None)

    cp = sorted(n for n, i in by_name.items() if tag(i, "kubegpu:group") == "kube_control_plane")
    gpu = sorted(n for n, i in by_name.items() if tag(i, "kubegpu:group") == "gpu_nodes")
    c.expect(
        len(cp) == args.control_plane,
        f"emulator holds {len(cp)} control-plane instances, expected {args.control_plane}",
    )
    c.expect(len(gpu) == args.gpu, f"emulator holds {len(gpu)} GPU instances, expected {args.gpu}")

    groups = record["groups"]
    c.expect(
        sorted(groups["kube_control_plane"]) == cp,
        f"inventory kube_control_plane {groups['kube_control_plane']} != emulator {cp}",
    )
    c.expect(sorted(groups["gpu_nodes"]) == gpu, f"inventory gpu_nodes {groups['gpu_nodes']} != emulator {gpu}")
    c.expect(
        sorted(groups["kubegpu_provisioned"]) == sorted(by_name),
        "kubegpu_provisioned holds exactly the emulator's instances",
    )

    group_ids = set()
    for name, inst in sorted(by_name.items()):
        hv = record["hostvars"].get(name, {})
        want_type = args.gpu_type if name in gpu else args.control_plane_type
        c.expect(
            inst["InstanceType"] == want_type, f"{name}: emulator type {inst['InstanceType']}, expected {want_type}"
        )
        c.expect(
            hv.get("kubegpu_instance_type") == inst["InstanceType"],
            f"{name}: inventory type {hv.get('kubegpu_instance_type')} != {inst['InstanceType']}",
        )
        c.expect(
            hv.get("kubegpu_instance_id") == inst["InstanceId"],
            f"{name}: inventory instance id {hv.get('kubegpu_instance_id')} != {inst['InstanceId']}",
        )
        c.expect(bool(inst.get("PublicIpAddress")), f"{name}: no public address in the emulator")
        c.expect(
            hv.get("ansible_host") == inst.get("PublicIpAddress"),
            f"{name}: ansible_host {hv.get('ansible_host')} != public IP {inst.get('PublicIpAddress')}",
        )
        c.expect(hv.get("kubegpu_public_ip") == inst.get("PublicIpAddress"), f"{name}: kubegpu_public_ip != emulator")
        c.expect(
            hv.get("kubegpu_private_ip") == inst.get("PrivateIpAddress"),
            f"{name}: kubegpu_private_ip {hv.get('kubegpu_private_ip')} != {inst.get('PrivateIpAddress')}",
        )
        c.expect(hv.get("ansible_user") == "ubuntu", f"{name}: ansible_user {hv.get('ansible_user')}")
        c.expect(
            "StrictHostKeyChecking=accept-new" in (hv.get("ansible_ssh_common_args") or ""),
            f"{name}: ansible_ssh_common_args {hv.get('ansible_ssh_common_args')!r} lacks accept-new",
        )
        if args.private_key_file:
            c.expect(
                hv.get("ansible_ssh_private_key_file") == args.private_key_file,
                f"{name}: ansible_ssh_private_key_file not set",
            )
        c.expect(
            inst.get("MetadataOptions", {}).get("HttpTokens") == "required",
            f"{name}: IMDSv2 not required ({inst.get('MetadataOptions')})",
        )
        c.expect(inst.get("KeyName") == args.name, f"{name}: key pair {inst.get('KeyName')}, expected {args.name}")
        root = [b for b in inst.get("BlockDeviceMappings", []) if b["DeviceName"] == inst.get("RootDeviceName")]
        c.expect(len(root) == 1, f"{name}: no root volume mapping")
        if root:
            vol = client.describe_volumes(VolumeIds=[root[0]["Ebs"]["VolumeId"]])["Volumes"][0]
            c.expect(
                vol["Encrypted"] and vol["VolumeType"] == "gp3" and vol["Size"] == 100,
                f"{name}: root volume {vol['VolumeType']} {vol['Size']} GiB encrypted={vol['Encrypted']}",
            )
        ids = {g["GroupId"] for g in inst.get("SecurityGroups", [])}
        ids |= {g["GroupId"] for n in inst.get("NetworkInterfaces", []) for g in n.get("Groups", [])}
        group_ids |= ids
    c.expect(
        sorted(record["hostvars"]) == sorted(by_name),
        f"inventory hosts {sorted(record['hostvars'])} != emulator {sorted(by_name)}",
    )

    check_security_group(client, c, group_ids, sorted(args.allowed_cidr))
    return c.finish(f"inventory vs emulator ({len(by_name)} instances)")


def empty(args):
    with open(args.baseline, encoding="utf-8") as f:
        before = json.load(f)
    now = inventory(ec2())
    c = Checks()
    for kind, ids in now.items():
        extra = sorted(set(ids) - set(before.get(kind, [])))
        c.expect(not extra, f"{kind} left in the emulator: {extra}")
    return c.finish("emulator back to its baseline")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("baseline")
    s.set_defaults(func=snapshot)
    s = sub.add_parser("provisioned")
    s.add_argument("record")
    s.add_argument("--name", required=True)
    s.add_argument("--control-plane", type=int, required=True)
    s.add_argument("--gpu", type=int, required=True)
    s.add_argument("--control-plane-type", required=True)
    s.add_argument("--gpu-type", required=True)
    s.add_argument("--allowed-cidr", action="append", required=True)
    s.add_argument("--private-key-file")
    s.set_defaults(func=provisioned)
    s = sub.add_parser("empty")
    s.add_argument("baseline")
    s.set_defaults(func=empty)
    args = p.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# The provisioning stage, proven end to end on this machine, offline:
#   1. terraform fmt -check, init (provider from the local mirror), validate
#   2. terraform test: the module against a mocked AWS provider  } in the
#   3. checkov over terraform/: no failed check, every skip     } background,
#      carries a reason                                         } during 4-5
#   4. bad input: terraform plan must fail with the variable's own message
#      before anything is planned
#   5. against moto (an AWS API emulator on loopback), through Ansible:
#      bad input through the role, provision (hosts in the inventory ==
#      instances in the emulator: types, count, IPs, security group rules),
#      re-run (no change), teardown (emulator back to its baseline)
# Exits non-zero on any failure. Needs terraform, python3, curl and
# ssh-keygen on PATH, and the project's .venv (ansible).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
HERE="$ROOT/tests/integration/provision"
VENV_TF="$ROOT/.venv-tf"
VENV="$ROOT/.venv"
START=$SECONDS
NAME=kgtest
CIDRS=("203.0.113.0/24" "198.51.100.7/32")

step() { printf '\n=== %s  [%ds]\n' "$*" $((SECONDS - START)); }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubegpu-provision.XXXXXX")
MOTO_PID=""
BACKGROUND_PIDS=()
cleanup() {
  local rc=$? pid
  for pid in "$MOTO_PID" "${BACKGROUND_PIDS[@]}"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [[ $rc -eq 0 ]]; then
    rm -rf "$WORK"
  else
    echo "logs kept in $WORK" >&2
  fi
  printf '\nprovision tests: %s in %ds\n' "$([[ $rc -eq 0 ]] && echo PASSED || echo FAILED)" $((SECONDS - START))
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools --------------------------------------------------------------------
step "tool virtualenv $VENV_TF"
"$ROOT/scripts/venv.sh" "$VENV_TF" "$HERE/requirements.txt" || fail "could not make $VENV_TF"
[[ -x "$VENV/bin/ansible-playbook" ]] || fail "$VENV/bin/ansible-playbook missing: set up the project's virtualenv first"
[[ -e "$ROOT/.cache/collections/ansible_collections/kubegpu/nvidia" ]] ||
  fail "this checkout is not linked as the kubegpu.nvidia collection: run scripts/setup.sh first"

# Providers from the machine's filesystem mirror when it has one (offline
# machines), from the registry otherwise.
if MIRROR=$("$ROOT/scripts/terraform-mirror.sh" --cli-config "$WORK/terraformrc"); then
  export TF_CLI_CONFIG_FILE="$WORK/terraformrc"
  echo "provider mirror: $MIRROR"
else
  MIRROR=""
  : >"$WORK/terraformrc"
  export TF_CLI_CONFIG_FILE="$WORK/terraformrc"
  echo "no provider mirror: providers come from the registry"
fi
terraform version | sed -n 1p
# Nothing in this script may reach real AWS: no profile, fake keys, and until
# moto runs, an endpoint nobody listens on.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL=http://127.0.0.1:9
export TF_IN_AUTOMATION=1

# --- 1. static checks ------------------------------------------------------------
step "terraform fmt -check"
terraform fmt -check -recursive -diff "$ROOT/terraform" || fail "terraform fmt: run 'terraform fmt -recursive terraform'"

step "terraform init + validate (copy of terraform/aws, so the source tree stays clean)"
MODULE="$WORK/module"
cp -r "$ROOT/terraform/aws" "$MODULE"
rm -rf "$MODULE/.terraform" "$MODULE/.terraform.lock.hcl" "$MODULE"/terraform.tfstate*
terraform -chdir="$MODULE" init -input=false -no-color >"$WORK/init.log" 2>&1 || { cat "$WORK/init.log"; fail "terraform init"; }
terraform -chdir="$MODULE" validate -no-color

# --- 2 + 3, in the background: they need CPU, the emulator runs mostly wait --
step "terraform test (mock_provider aws, offline) and checkov: started in the background"
unskipped=$(grep -rnE '#checkov:skip=[A-Z0-9_]+\s*$' "$ROOT/terraform" || true)
[[ -z "$unskipped" ]] || fail "checkov skips without a reason: $unskipped"
terraform -chdir="$MODULE" test -no-color >"$WORK/terraform-test.log" 2>&1 &
BACKGROUND_PIDS+=($!)
TEST_PID=$!
(cd "$ROOT" && exec "$VENV_TF/bin/checkov" -d terraform --framework terraform --skip-download --compact --quiet) >"$WORK/checkov.log" 2>&1 &
BACKGROUND_PIDS+=($!)
CHECKOV_PID=$!

# --- 4. bad input -------------------------------------------------------------------
# Each case: terraform plan must fail, print the message, and plan nothing.
bad_plan() {
  local label=$1 message=$2; shift 2
  local log="$WORK/bad-$label.log" rc=0
  terraform -chdir="$MODULE" plan -input=false -no-color -lock=false \
    -var 'allowed_cidrs=["203.0.113.0/24"]' -var 'key_name=ops' "$@" >"$log" 2>&1 || rc=$?
  [[ $rc -ne 0 ]] || { cat "$log"; fail "bad input '$label' was accepted"; }
  # Terraform wraps long messages: compare with line breaks folded to spaces.
  tr -s '\n ' '  ' <"$log" | grep -qF "$message" || { cat "$log"; fail "bad input '$label': message not shown: $message"; }
  grep -qE 'will be created|Plan: ' "$log" && { cat "$log"; fail "bad input '$label': resources were planned"; }
  echo "refused as expected: $label"
}
step "bad input: terraform plan fails with a clear message, nothing planned"
# One plan carries several bad inputs: Terraform reports every failed
# validation, and each message is checked on its own. (terraform test above
# proves each input is refused alone.)
bad_plan non-gpu-type+malformed-cidrs+zero-gpu-nodes \
  'gpu_instance_type "m5.xlarge" is not an x86_64 NVIDIA GPU instance type' \
  -var gpu_instance_type=m5.xlarge -var gpu_node_count=0 -var 'allowed_cidrs=["10.0.0.300/24","203.0.113.7","10.1.2.3/24"]'
for message in 'not valid: "10.0.0.300/24", "203.0.113.7"' 'fix: 10.1.2.3/24 -> 10.1.2.0/24' \
  'gpu_node_count must be a whole number of at least 1'; do
  tr -s '\n ' '  ' <"$WORK/bad-non-gpu-type+malformed-cidrs+zero-gpu-nodes.log" | grep -qF "$message" || fail "bad input: message not shown: $message"
  echo "  and: $message"
done
bad_plan empty-allowed-cidrs 'allowed_cidrs is empty: list the IPv4 networks you administer the cluster from' -var 'allowed_cidrs=[]'
# Networks that each pass but together open SSH and the API server to the whole internet.
bad_plan halves-of-the-internet 'allowed_cidrs together cover more than a sixteenth of all IPv4 addresses' \
  -var 'allowed_cidrs=["0.0.0.0/1","128.0.0.0/1"]'
tr -s '\n ' '  ' <"$WORK/bad-halves-of-the-internet.log" | grep -qF 'Too large: 0.0.0.0/1, 128.0.0.0/1.' \
  || fail "bad input: the networks larger than a /8 are not named"
bad_plan seventeen-slash-8s 'allowed_cidrs together cover more than a sixteenth of all IPv4 addresses' \
  -var "allowed_cidrs=[$(for i in $(seq 1 17); do printf '"%d.0.0.0/8",' "$i"; done | sed 's/,$//')]"
bad_plan zone-of-another-region 'availability_zone "eu-west-1a" is not a zone of region "us-east-1"' \
  -var availability_zone=eu-west-1a
bad_plan more-gpu-nodes-than-range 'gpu_node_count is 5000: this module makes at most 1024 GPU nodes' -var gpu_node_count=5000
bad_plan more-nodes-than-the-subnet 'gpu_node_count is 11, but the subnet this module creates from vpc_cidr 10.42.0.0/24' \
  -var gpu_node_count=11 -var vpc_cidr=10.42.0.0/24

# --- 5. moto ---------------------------------------------------------------------------
step "start moto on loopback"
PORT=$("$VENV_TF/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV_TF/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
for _ in $(seq 50); do
  curl -fsS -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" 2>/dev/null && break
  kill -0 "$MOTO_PID" 2>/dev/null || { cat "$WORK/moto.log"; fail "moto exited"; }
  sleep 0.2
done
curl -fsS -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" || fail "moto did not answer on $AWS_ENDPOINT_URL"
echo "moto pid $MOTO_PID on $AWS_ENDPOINT_URL"
"$VENV_TF/bin/python" "$HERE/emulator.py" snapshot "$WORK/baseline.json"

ssh-keygen -q -t ed25519 -N '' -C "kubegpu-test" -f "$WORK/id_ed25519"
# Ansible reads the mirror only through provision_terraform_plugin_paths: the
# CLI configuration it sees is empty.
: >"$WORK/terraformrc-empty"
PLUGIN_PATHS="[]"
[[ -n "$MIRROR" ]] && PLUGIN_PATHS="[\"$MIRROR\"]"
cat >"$WORK/inventory.yml" <<INVENTORY
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: $VENV/bin/python
  vars:
    provision_name: $NAME
    provision_allowed_cidrs: ["${CIDRS[0]}", "${CIDRS[1]}"]
    provision_control_plane_count: 1
    provision_gpu_node_count: 2
    provision_public_key: "$(cat "$WORK/id_ed25519.pub")"
    provision_ssh_private_key_file: $WORK/id_ed25519
    provision_terraform_plugin_paths: $PLUGIN_PATHS
    # moto implements no MonitorInstances call.
    provision_detailed_monitoring: false
    provision_terraform_extra_variables:
      # moto's built-in Canonical images predate 24.04: exercise the same
      # owner + name lookup with a pattern it holds.
      ami_name_pattern: ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*
      # A zone of the region passes the module's availability_zone check.
      availability_zone: us-east-1b
INVENTORY

# Run from $WORK/project, as a user runs from their project directory: the
# default provision_state_dir lands under it.
mkdir -p "$WORK/project"
playbook() {
  local log=$1; shift
  (cd "$WORK/project" && TF_CLI_CONFIG_FILE="$WORK/terraformrc-empty" ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_NOCOLOR=1 \
    "$VENV/bin/ansible-playbook" -i "$WORK/inventory.yml" "$@") >"$log" 2>&1
}
changed_on_localhost() {
  grep -E '^localhost +:' "$1" | sed -E 's/.*changed=([0-9]+).*/\1/'
}

step "bad input through the role: empty provision_allowed_cidrs"
rc=0; playbook "$WORK/bad-role.log" "$ROOT/playbooks/provision.yml" -e '{"provision_allowed_cidrs": []}' || rc=$?
[[ $rc -ne 0 ]] || { cat "$WORK/bad-role.log"; fail "the role accepted an empty provision_allowed_cidrs"; }
tr -s '\n ' '  ' <"$WORK/bad-role.log" | grep -qF 'allowed_cidrs is empty' || { cat "$WORK/bad-role.log"; fail "the role did not show Terraform's message"; }
"$VENV_TF/bin/python" "$HERE/emulator.py" empty "$WORK/baseline.json" || fail "bad input created resources in the emulator"

step "provision: playbooks/provision.yml against moto (1 control plane, 2 GPU nodes)"
playbook "$WORK/provision-1.log" "$HERE/provision-and-record.yml" --skip-tags provision_wait -e "record_file=$WORK/record-1.json" \
  || { cat "$WORK/provision-1.log"; fail "provisioning failed"; }
grep -E '^localhost +:' "$WORK/provision-1.log"
STATE_DIR="$WORK/project/.kubegpu/terraform-aws-$NAME"
[[ -f "$STATE_DIR/terraform.tfstate" ]] || fail "no Terraform state in the default provision_state_dir $STATE_DIR"
[[ ! -e "$ROOT/terraform/aws/.terraform" && ! -e "$ROOT/terraform/aws/terraform.tfstate" ]] || fail "Terraform wrote into the collection's own terraform/aws"
"$VENV_TF/bin/python" "$HERE/emulator.py" provisioned "$WORK/record-1.json" --name "$NAME" \
  --control-plane 1 --gpu 2 --control-plane-type m6i.large --gpu-type g6.xlarge \
  --allowed-cidr "${CIDRS[0]}" --allowed-cidr "${CIDRS[1]}" --private-key-file "$WORK/id_ed25519" \
  || fail "the inventory does not match the emulator"

step "the module's inventory output is an Ansible inventory of the same hosts"
terraform -chdir="$STATE_DIR" output -json inventory >"$WORK/inventory-output.json"
ANSIBLE_CONFIG="$ROOT/ansible.cfg" "$VENV/bin/ansible-inventory" -i "$WORK/inventory-output.json" --list >"$WORK/inventory-output-list.json" \
  || fail "ansible-inventory cannot read the module's inventory output"
"$VENV_TF/bin/python" - "$WORK/inventory-output-list.json" "$WORK/record-1.json" <<'PY' || fail "the inventory output differs from the hosts the role added"
import json, sys
listed, record = (json.load(open(p)) for p in sys.argv[1:])
for group in ("kube_control_plane", "gpu_nodes"):
    assert sorted(listed[group]["hosts"]) == sorted(record["groups"][group]), group
for host, hv in listed["_meta"]["hostvars"].items():
    want = record["hostvars"][host]
    for key in ("ansible_host", "ansible_user", "kubegpu_private_ip", "kubegpu_instance_id"):
        assert hv[key] == want[key], (host, key, hv[key], want[key])
print(f"inventory output: {len(listed['_meta']['hostvars'])} hosts, same groups and addresses as the role added")
PY

step "re-run: no change"
playbook "$WORK/provision-2.log" "$HERE/provision-and-record.yml" --skip-tags provision_wait -e "record_file=$WORK/record-2.json" \
  || { cat "$WORK/provision-2.log"; fail "re-run failed"; }
grep -E '^localhost +:' "$WORK/provision-2.log"
[[ "$(changed_on_localhost "$WORK/provision-2.log")" == "0" ]] || { cat "$WORK/provision-2.log"; fail "re-run reported changes"; }
"$VENV_TF/bin/python" - "$WORK/record-1.json" "$WORK/record-2.json" <<'PY' || fail "re-run added different hosts"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
keys = ("ansible_host", "ansible_user", "kubegpu_private_ip", "kubegpu_instance_id", "kubegpu_instance_type")
pick = lambda r: (r["groups"], {h: {k: v.get(k) for k in keys} for h, v in r["hostvars"].items()})
sys.exit(0 if pick(a) == pick(b) else 1)
PY

step "teardown: playbooks/teardown.yml"
playbook "$WORK/teardown.log" "$ROOT/playbooks/teardown.yml" || { cat "$WORK/teardown.log"; fail "teardown failed"; }
grep -E '^localhost +:' "$WORK/teardown.log"
"$VENV_TF/bin/python" "$HERE/emulator.py" empty "$WORK/baseline.json" || fail "teardown left resources in the emulator"
"$VENV_TF/bin/python" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(1 if s.get("resources") else 0)' "$STATE_DIR/terraform.tfstate" \
  || fail "the Terraform state still lists resources after teardown"

# --- results of the background checks -----------------------------------------------
step "terraform test (background) result"
rc=0; wait "$TEST_PID" || rc=$?
grep -vE '^\s*$' "$WORK/terraform-test.log"
if ! { [[ $rc -eq 0 ]] && grep -qE '^Success! [0-9]+ passed, 0 failed' "$WORK/terraform-test.log"; }; then fail "terraform test"; fi

step "checkov (background) result"
rc=0; wait "$CHECKOV_PID" || rc=$?
grep -E 'Passed checks' "$WORK/checkov.log" || true
if ! { [[ $rc -eq 0 ]] && grep -qE 'Failed checks: 0,' "$WORK/checkov.log"; }; then cat "$WORK/checkov.log"; fail "checkov found failed checks"; fi

#!/usr/bin/env bash
# Every check of the project, as CI runs it (`make test`). Each step runs even
# when an earlier one failed; the run fails when any step failed.
#   scripts/test.sh [STEP...]   run only the named steps (see `steps` below; a+b runs a and b at once)
#   make test STEP=unit         the same through make (STEP='lint unit' for several)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$PWD
scripts/setup.sh test || exit 1
export PATH="$top/.venv/bin:$PATH" ANSIBLE_CONFIG="$top/ansible.cfg" PYTHONUNBUFFERED=1

lint() {
  # ansible-lint, the slowest, beside the others (each keeps one core busy); its output follows theirs.
  local out rc=0
  out=$(mktemp)
  ansible-lint --profile production >"$out" 2>&1 & local pid=$!
  { yamllint -s . &&
    ruff check . &&
    # As ansible-test's sanity runs it (which CI reaches later): every shell script, every severity.
    scripts/apt-install.sh lint shellcheck && git ls-files -z '*.sh' | xargs -0 shellcheck -e SC1090,SC1091 &&
    antsibull-changelog lint; } || rc=1
  wait "$pid" || rc=1
  cat "$out"; rm -f "$out"
  return "$rc"
}
unit() { python -m pytest tests/unit -q; }
integration() {
  scripts/fetch-containerd.sh &&
  tests/integration/cdi/prepare.sh &&
  # tests/integration/cluster has its own venv (kmock, checkov): the cluster step runs it.
  # Two test files at a time (pytest-xdist, one file per worker): pytest alone keeps one of two cores busy.
  python -m pytest tests/integration -q --ignore=tests/integration/cluster -n 2 --dist loadfile --durations=10
}
sanity_219() { scripts/ansible-test.sh .venv sanity; }
units_219() { scripts/ansible-test.sh .venv units; }
sanity_oldest() { scripts/ansible-test.sh .venv-oldest sanity; }
units_oldest() { scripts/ansible-test.sh .venv-oldest units; }
provision() { tests/integration/provision/run.sh; }
cluster() { tests/integration/cluster/run.sh; }
container_runtime() { tests/integration/container_runtime/run.sh; }
# A real CRI-O v1.36.3 daemon (../shared/bin) on Debian 13: the role's handler, CDI, rollback.
crio_runtime() { tests/integration/crio_runtime/run.sh; }
# A real three-node kubeadm cluster in podman (workers on containerd and CRI-O), built by the kubernetes role, with
# the cluster and validate stages on it (tests/integration/kubernetes/run.sh).
kubernetes() { tests/integration/kubernetes/run.sh; }
# The GPU host's cluster scripts rehearsed without a GPU (tests/gpu/rehearse.sh), on the kubernetes test's caches
# (it builds any that are missing).
rehearse() { tests/gpu/rehearse.sh; }
# The execution environment of execution-environment.yml: ansible-builder create, a podman
# build from a local Debian base (cached by a hash of its inputs), and
# `kubegpu.nvidia.site --check` inside it (tests/integration/ee/run.sh).
ee() { tests/integration/ee/run.sh; }
# The driver role's plan against fixture hosts (--check); CI runs it apart from the DKMS build, last in its pool.
driver_plan() { tests/integration/driver/run.sh plan; }
# The real DKMS build of Debian's driver takes about 13 minutes on 2 cores (fewer with its compiler cache);
# KUBEGPU_TEST_DKMS=0 leaves it out of a quick local run (CI runs it).
driver() {
  if [ "${KUBEGPU_TEST_DKMS:-1}" = 0 ]; then echo "driver: the DKMS build left out (KUBEGPU_TEST_DKMS=0)"
  else tests/integration/driver/run.sh dkms; fi
}
# container_toolkit from a local signed apt repository (molecule/toolkit-debian13).
toolkit() { tests/integration/driver/run.sh toolkit; }

# CI (no STEP given): the steps of `pool` start in this order, at most KUBEGPU_TEST_JOBS (3) at a time, each as
# soon as another ends, so that the machine's two cores stay busy to the end (a step waiting on apt, a daemon or
# a container leaves the CPU to the others): the longest chains first (the DKMS build, the containerd scenarios),
# the short ones last. Then the kubernetes test, alone at first: its three nodes' kubelets must answer kubeadm
# join's health check in time (they missed it beside the DKMS build). The other steps of its group start once
# its cluster is built (KUBEGPU_K8S_BUILT) and take what its waits on the cluster leave.
# `scripts/test.sh STEP...` runs the named steps one after the other; STEP+STEP runs steps at the same time.
# `unit` (pytest on tests/unit in .venv) is for a quick local run: CI runs the same tests through ansible-test,
# on ansible-core 2.19 and on the oldest supported (units_219, units_oldest).
pool=(driver container_runtime integration toolkit rehearse provision crio_runtime lint sanity_219 sanity_oldest
  units_219 units_oldest ee driver_plan)
final=kubernetes+cluster
jobs=${KUBEGPU_TEST_JOBS:-3}
all=" ${pool[*]} ${final//+/ } unit "
for group in "$@"; do
  IFS=+ read -r -a members <<<"$group"
  for step in "${members[@]}"; do
    [[ $all == *" $step "* ]] ||
      { echo "test.sh: no step '$step'; the steps are:${all% }" >&2; exit 2; }
  done
done
failed=()
summary=()
logs=$(mktemp -d "${TMPDIR:-/tmp}/kubegpu-test.XXXXXX")
trap 'rm -rf "$logs"' EXIT

start_step() {  # start_step STEP [PID]: STEP in the background, its output in its log; with PID, once the
  # kubernetes test (PID) has built its cluster (tests/integration/kubernetes/run.sh creates KUBEGPU_K8S_BUILT
  # then, or when it ends early)
  local step=$1 k8s_pid=${2:-}
  ( : >"$logs/$step.log"
    if [ -n "$k8s_pid" ]; then
      while [ ! -e "$KUBEGPU_K8S_BUILT" ] && kill -0 "$k8s_pid" 2>/dev/null; do sleep 2; done
      echo "::: $step: started once the kubernetes test's cluster was built" >>"$logs/$step.log"
    fi
    start=$SECONDS; "$step" >>"$logs/$step.log" 2>&1; rc=$?; echo "$rc $((SECONDS - start))" >"$logs/$step.rc" ) &
}
report() {  # report STEP: its log, and its line in the summary
  local step=$1 rc took result
  echo "::: $step (log)"
  cat "$logs/$step.log"
  read -r rc took <"$logs/$step.rc" || { rc=1 took=0; }
  if [ "$rc" = 0 ]; then result=passed; else result=FAILED; failed+=("$step"); fi
  summary+=("$(printf '%-17s %-7s %4ss' "$step" "$result" "$took")")
}
run_group() {  # run_group STEP[+STEP...]: one step in the foreground, or several at the same time
  local members step k8s_pid=
  IFS=+ read -r -a members <<<"$1"
  if [ ${#members[@]} -eq 1 ]; then
    step=${members[0]}
    echo "::: $step"
    start=$SECONDS
    "$step" 2>&1 | tee "$logs/$step.log"
    echo "${PIPESTATUS[0]} $((SECONDS - start))" >"$logs/$step.rc"
    report "$step" >/dev/null
    return
  fi
  echo "::: ${members[*]} (at the same time)"
  # With the kubernetes test in the group, it starts first, and the others once its cluster is built.
  if [[ " ${members[*]} " == *" kubernetes "* ]]; then
    export KUBEGPU_K8S_BUILT=$logs/kubernetes.built
    start_step kubernetes
    k8s_pid=$!
  fi
  for step in "${members[@]}"; do
    [ "$step" = kubernetes ] || start_step "$step" "$k8s_pid"
  done
  wait
  for step in "${members[@]}"; do report "$step"; done
}
run_pool() {  # run_pool STEP...: each in turn, at most $jobs at a time
  local step
  echo "::: $* (in this order, at most $jobs at a time)"
  for step in "$@"; do
    while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do wait -n; done
    echo "::: $step started at $(date +%T)"
    start_step "$step"
  done
  wait
  for step in "$@"; do report "$step"; done
}

if [ $# -gt 0 ]; then
  for group in "$@"; do run_group "$group"; done
else
  run_pool "${pool[@]}"
  run_group "$final"
fi
# What failed, again at the end, where a reader of the log's tail sees it.
for step in "${failed[@]}"; do
  echo "::: $step failed; the end of its log:"
  tail -n 25 "$logs/$step.log"
done
echo "::: summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then echo "failed: ${failed[*]}"; exit 1; fi
echo "all checks passed"

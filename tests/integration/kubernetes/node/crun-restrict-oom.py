"""crun for the kubernetes test's CRI-O worker, within the node's own limits.

The build machine's containers lack CAP_SYS_RESOURCE (it is not in their
bounding set): no process there may lower its oom_score_adj or hold that
capability. crun then fails a container whose spec asks for either: kubelet
asks oom_score_adj -997 for kube-proxy and the device plugin ("write to
/proc/self/oom_score_adj: Permission denied"), and CRI-O gives a privileged
container every capability ("capset: Operation not permitted"). containerd
has restrict_oom_score_adj for the first and gives privileged containers only
the capabilities it holds itself; CRI-O has neither. This wrapper does what
containerd does: in the bundle's config.json (create, run) or the process
file (exec) it raises a lower process.oomScoreAdj to its own and drops the
capabilities outside its own bounding set, then runs crun with the same
arguments. Test node only: tests/integration/kubernetes/prepare.yml installs it
as the crun handler's runtime_path, with a python3 shebang.
"""
import json
import os
import sys

CRUN = '/usr/libexec/crio/crun'
# The capabilities by number (linux/capability.h).
CAPABILITIES = (
    'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
    'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
    'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
    'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
    'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
    'CHECKPOINT_RESTORE',
)


def own_limits():
    """This process's oom_score_adj and the capability names of its bounding set."""
    with open('/proc/self/oom_score_adj') as own:
        floor = int(own.read())
    with open('/proc/self/status') as status:
        bounding = int(next(line.split()[1] for line in status if line.startswith('CapBnd:')), 16)
    held = {'CAP_' + name for number, name in enumerate(CAPABILITIES) if bounding >> number & 1}
    return floor, held


def restrict(path, key_path):
    floor, held = own_limits()
    known = {'CAP_' + name for name in CAPABILITIES}
    with open(path) as spec_file:
        spec = json.load(spec_file)
    process = spec
    for key in key_path:
        process = process.get(key) or {}
    changed = False
    if isinstance(process.get('oomScoreAdj'), int) and process['oomScoreAdj'] < floor:
        process['oomScoreAdj'] = floor
        changed = True
    for kind, names in (process.get('capabilities') or {}).items():
        kept = [name for name in names if name in held or name not in known]
        if kept != names:
            process['capabilities'][kind] = kept
            changed = True
    if changed:
        with open(path, 'w') as spec_file:
            json.dump(spec, spec_file)


def option(args, *names):
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(name + '='):
                return arg[len(name) + 1:]
    return None


def main():
    args = sys.argv[1:]
    if 'create' in args or 'run' in args:
        bundle = option(args, '--bundle', '-b') or '.'
        restrict(os.path.join(bundle, 'config.json'), ['process'])
    elif 'exec' in args:
        process = option(args, '--process', '-p')
        if process:
            restrict(process, [])
    os.execv(CRUN, [CRUN] + args)


if __name__ == '__main__':
    main()

# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide what the driver role installs on one node, from its gpu_facts.

Pure: facts and role options in, a plan out (packages, repository, kernel
module flavour, whether to skip and why). The role does the I/O; this decides,
so every distro/branch/flavour combination is tested without a node.
"""

from __future__ import annotations

import re

KERNEL_MODULES = ('auto', 'open', 'proprietary')
SOURCES = ('auto', 'distro', 'cuda')
FABRIC_MANAGER = ('auto', 'true', 'false')

# NVIDIA's recommended data centre branch when the operator pins none.
DEFAULT_BRANCH = '580'
# From 560 on NVIDIA installs the open kernel modules by default.
OPEN_DEFAULT_FROM_BRANCH = 560

# Architectures the open kernel modules support (Turing and newer), and
# those that only the open modules support (Blackwell and newer).
_OPEN_CAPABLE = ('turing', 'ampere', 'ada lovelace', 'ada', 'hopper', 'blackwell', 'rubin')
_OPEN_ONLY = ('blackwell', 'rubin')
_PRE_TURING = ('kepler', 'maxwell', 'pascal', 'volta', 'fermi', 'tesla')

# PCI device id ranges, for nodes where no driver is loaded yet (nvidia-smi
# reports the architecture only once a driver runs). NVIDIA assigns device ids
# by generation: everything from 0x1e00 is Turing or newer, and 0x2900 and up
# (GB100, GB20x) is Blackwell.
_TURING_FIRST_ID = 0x1E00
_BLACKWELL_FIRST_ID = 0x2900
_HOPPER_IDS = range(0x2300, 0x2400)

CUDA_REPO_DISTROS = {
    ('ubuntu', '22'): 'ubuntu2204',
    ('ubuntu', '24'): 'ubuntu2404',
    ('debian', '12'): 'debian12',
    ('debian', '13'): 'debian13',
    ('redhat', '8'): 'rhel8',
    ('redhat', '9'): 'rhel9',
}
CUDA_REPO_ARCH = {'x86_64': 'x86_64', 'amd64': 'x86_64', 'aarch64': 'sbsa', 'arm64': 'sbsa'}

# Ubuntu packages in NVIDIA's CUDA repository carry the branch in their names
# up to 580 (libnvidia-compute-580, nvidia-dkms-580-open, ...) and drop it from
# 590 on, where an apt pin holds the branch (NVIDIA driver installation guide,
# "Recent Updates"). Fabric Manager and NSCQ follow the same rule in both apt
# repositories.
LAST_APT_BRANCH_IN_NAMES = 580
# NVIDIA's RPMs name Fabric Manager nvidia-fabricmanager and NSCQ libnvidia-nscq
# from 580 on; before, nvidia-fabric-manager and libnvidia-nscq-<branch>
# (NVIDIA/gpu-driver-container rhel9/install.sh).
RPM_FABRIC_MANAGER_RENAMED_IN = 580


class DriverPlanError(ValueError):
    """The options or facts do not allow a driver install; the message says what to change."""


def architecture_of(gpu):
    """Return (architecture, how it was known) for one gpu_facts GPU entry."""
    arch = (gpu.get('architecture') or '').strip()
    if arch:
        return arch, 'nvidia-smi'
    device_id = gpu.get('device_id')
    try:
        number = int(str(device_id), 16)
    except (TypeError, ValueError):
        return None, None
    if number >= _BLACKWELL_FIRST_ID:
        return 'Blackwell', 'PCI device id'
    if number in _HOPPER_IDS:
        return 'Hopper', 'PCI device id'
    if number >= _TURING_FIRST_ID:
        return 'Turing or newer', 'PCI device id'
    return 'pre-Turing', 'PCI device id'


def _arch_class(arch):
    name = (arch or '').lower()
    if name.startswith(_OPEN_ONLY):
        return 'open_only'
    if name == 'turing or newer' or name.startswith(_OPEN_CAPABLE):
        return 'open_capable'
    if name == 'pre-turing' or name.startswith(_PRE_TURING):
        return 'proprietary_only'
    return None


def choose_kernel_modules(gpus, wanted='auto', branch=''):
    """Return (open|proprietary, reason) for the node's GPUs.

    ``auto``: proprietary when any GPU predates Turing, open otherwise
    (required for Blackwell). Without GPUs (an image built on a CPU host) the
    branch decides: open from 560 on, as NVIDIA's own installers do.
    """
    if wanted not in KERNEL_MODULES:
        raise DriverPlanError(
            'nvidia_driver_kernel_modules is {0!r}; expected one of {1}'.format(wanted, ', '.join(KERNEL_MODULES)))
    classes = {}
    for gpu in gpus or []:
        arch, dummy = architecture_of(gpu)
        cls = _arch_class(arch)
        if cls:
            classes.setdefault(cls, arch)
    if 'open_only' in classes and 'proprietary_only' in classes:
        raise DriverPlanError(
            'this node mixes {0} GPUs (open kernel modules only) with {1} GPUs (proprietary modules only);'
            ' no single NVIDIA kernel module drives both: split them across nodes'.format(
                classes['open_only'], classes['proprietary_only']))
    if wanted == 'proprietary' and 'open_only' in classes:
        raise DriverPlanError(
            'nvidia_driver_kernel_modules is proprietary, but {0} GPUs need the open kernel modules;'
            ' set it to open or auto'.format(classes['open_only']))
    if wanted == 'open' and 'proprietary_only' in classes:
        raise DriverPlanError(
            'nvidia_driver_kernel_modules is open, but {0} GPUs need the proprietary kernel modules'
            ' (the open modules support Turing and newer); set it to proprietary or auto'.format(
                classes['proprietary_only']))
    if wanted != 'auto':
        return wanted, 'nvidia_driver_kernel_modules is {0}'.format(wanted)
    if 'proprietary_only' in classes:
        return 'proprietary', '{0} GPUs predate Turing and need the proprietary kernel modules'.format(
            classes['proprietary_only'])
    if 'open_only' in classes:
        return 'open', '{0} GPUs need the open kernel modules'.format(classes['open_only'])
    number = _branch_number(branch)
    if 'open_capable' in classes:
        if number is not None and number >= OPEN_DEFAULT_FROM_BRANCH:
            return 'open', '{0} GPUs support the open kernel modules, the default from branch {1}'.format(
                classes['open_capable'], OPEN_DEFAULT_FROM_BRANCH)
        which = 'branch ' + branch if branch else "the distribution's branch"
        return 'proprietary', (
            '{0} GPUs support both; {1} defaults to the proprietary modules (the open ones are the default from'
            ' branch {2})'.format(classes['open_capable'], which, OPEN_DEFAULT_FROM_BRANCH))
    if number is not None and number >= OPEN_DEFAULT_FROM_BRANCH:
        return 'open', 'no GPU to decide from; branch {0} installs the open kernel modules by default'.format(branch)
    return 'proprietary', 'no GPU to decide from; {0} installs the proprietary kernel modules by default'.format(
        'branch ' + branch if branch else "the distribution's packaged branch")


def _branch_number(branch):
    match = re.match(r'^(\d+)', str(branch or ''))
    return int(match.group(1)) if match else None


def _major(version):
    return str(version or '').split('.', maxsplit=1)[0]


def _kernel_flavour(release):
    # 6.8.0-45-generic -> generic, 6.8.0-1015-aws -> aws
    parts = str(release or '').rsplit('-', 1)
    return parts[1] if len(parts) == 2 and not parts[1].isdigit() else None


def _os(facts):
    os_facts = facts.get('os') or {}
    family = os_facts.get('family')
    distro = (os_facts.get('id') or '').lower()
    major = str(os_facts.get('version_id') or '').split('.', maxsplit=1)[0]
    if family == 'debian' and distro not in ('ubuntu', 'debian'):
        distro = 'ubuntu' if 'ubuntu' in (os_facts.get('id_like') or []) else 'debian'
    if family not in ('debian', 'redhat') or not major:
        raise DriverPlanError(
            'the driver role supports Ubuntu 22.04/24.04, Debian 12/13 and RHEL/Rocky/Alma 8/9;'
            ' this node reports os {0!r} version {1!r} (family {2!r})'.format(
                os_facts.get('id'), os_facts.get('version_id'), family))
    return family, distro, major


def _debian_distro_packages(modules, headless):
    # Debian packages one branch per release (535 in 12, 550 in 13). The
    # kernel-module packages alone do not activate a nouveau blacklist; the
    # role writes its own.
    kernel = ['nvidia-open-kernel-dkms', 'firmware-nvidia-gsp'] if modules == 'open' else ['nvidia-kernel-dkms']
    user = ['nvidia-smi', 'libcuda1', 'libnvidia-ml1'] if headless else ['nvidia-driver']
    return kernel + user + ['nvidia-persistenced']


def _ubuntu_distro_packages(branch, modules, headless, precompiled, release):
    suffix = '-server-open' if modules == 'open' else '-server'
    packages = []
    if precompiled:
        # Canonical's precompiled modules are signed with its key, which
        # Ubuntu's shim trusts: they load with Secure Boot on.
        packages.append('linux-modules-nvidia-{0}{1}-{2}'.format(branch, suffix, release))
        flavour = _kernel_flavour(release)
        if flavour:
            # The meta package follows the flavour's kernel updates.
            packages.append('linux-modules-nvidia-{0}{1}-{2}'.format(branch, suffix, flavour))
        packages.append('nvidia-headless-no-dkms-{0}{1}'.format(branch, suffix) if headless
                        else 'nvidia-driver-{0}{1}'.format(branch, suffix))
    else:
        packages.append('nvidia-headless-{0}{1}'.format(branch, suffix) if headless
                        else 'nvidia-driver-{0}{1}'.format(branch, suffix))
    packages.append('nvidia-utils-{0}-server'.format(branch))
    return packages


def _apt_branch_suffix(branch):
    # '-580' where NVIDIA's apt package names carry the branch, '' from 590 on.
    number = _branch_number(branch)
    return '-{0}'.format(number) if number is not None and number <= LAST_APT_BRANCH_IN_NAMES else ''


def _cuda_apt_packages(distro, branch, modules, headless):
    # NVIDIA's own apt repository. An apt preferences pin holds the branch
    # too, and is the only thing that does where the names carry none.
    if distro == 'ubuntu':
        # Ubuntu-style names (NVIDIA driver installation guide, "Recent
        # Updates" and compute-only install): libnvidia-compute-580
        # nvidia-dkms-580-open nvidia-utils-580, or nvidia-open-580 /
        # cuda-drivers-580 for the full driver; without "-580" from 590 on.
        suffix = _apt_branch_suffix(branch)
        if headless:
            dkms = 'nvidia-dkms{0}{1}'.format(suffix, '-open' if modules == 'open' else '')
            # nvidia-compute-utils holds nvidia-persistenced in Ubuntu-style packaging (as in
            # Canonical's archive); the role enables that service.
            return ['libnvidia-compute' + suffix, dkms, 'nvidia-utils' + suffix, 'nvidia-compute-utils' + suffix]
        return [('nvidia-open' if modules == 'open' else 'cuda-drivers') + suffix]
    # Debian-style names in NVIDIA's debian12/debian13 directories.
    kernel = 'nvidia-kernel-open-dkms' if modules == 'open' else 'nvidia-kernel-dkms'
    if headless:
        return ['nvidia-driver-cuda', kernel, 'nvidia-persistenced']
    return ['nvidia-open' if modules == 'open' else 'cuda-drivers']


def _cuda_apt_fabric_manager(branch):
    # NVIDIA's gpu-driver-container installs both for NVSwitch systems.
    suffix = _apt_branch_suffix(branch)
    return ['nvidia-fabricmanager' + suffix, 'libnvidia-nscq' + suffix]


def _redhat_module_stream(branch, modules):
    # NVIDIA driver installation guide, kernel modules (all releases beyond
    # 570): `dnf module enable nvidia-driver:<branch>-open` (or -dkms for the
    # proprietary modules) chooses the branch, then plain packages install.
    return 'nvidia-driver:{0}-{1}'.format(_branch_number(branch), 'open' if modules == 'open' else 'dkms')


def _redhat_packages(modules, headless):
    if headless:
        # Compute-only: no X or desktop libraries.
        return ['nvidia-driver-cuda', 'kmod-nvidia-open-dkms' if modules == 'open' else 'kmod-nvidia-latest-dkms']
    return ['nvidia-open' if modules == 'open' else 'cuda-drivers']


def _redhat_fabric_manager(branch):
    number = _branch_number(branch)
    if number >= RPM_FABRIC_MANAGER_RENAMED_IN:
        return ['nvidia-fabricmanager', 'libnvidia-nscq']
    return ['nvidia-fabric-manager', 'libnvidia-nscq-{0}'.format(number)]


def _redhat_hold_patterns(modules, headless, fabric_manager):
    # dnf versionlock patterns; the role locks the installed packages they
    # match (NVIDIA Container Toolkit's libnvidia-container* excepted).
    patterns = ['nvidia-driver*', 'kmod-nvidia*', 'nvidia-kmod*', 'nvidia-persistenced*', 'libnvidia-*']
    if not headless:
        patterns.append('nvidia-open*' if modules == 'open' else 'cuda-drivers*')
    if fabric_manager:
        patterns += ['nvidia-fabric*manager*', 'libnvidia-nscq*']
    return patterns


def _source_for(distro, family, source):
    if source not in SOURCES:
        raise DriverPlanError(
            'nvidia_driver_source is {0!r}; expected one of {1}'.format(source, ', '.join(SOURCES)))
    if source != 'auto':
        if family == 'redhat' and source == 'distro':
            raise DriverPlanError(
                'RHEL-family distributions do not package the NVIDIA driver; set nvidia_driver_source to cuda or auto')
        return source
    return 'cuda' if family == 'redhat' else 'distro'


def plan_driver(facts, *, branch='', kernel_modules='auto', source='auto', headless=True, fabric_manager='auto',
                ubuntu_precompiled=True, kernel_release='', install_without_gpu=False,
                secure_boot_mok_enrolled=False, arch='x86_64'):
    """Return the plan for one node: what to install, or why nothing is done."""
    if not isinstance(facts, dict) or 'driver' not in facts or 'gpu_count' not in facts:
        raise DriverPlanError(
            'the driver plan needs the facts of kubegpu.nvidia.gpu_facts (ansible_facts.nvidia); run that module first')
    branch = str(branch or '').strip()
    if branch and _branch_number(branch) is None:
        raise DriverPlanError(
            'nvidia_driver_branch is {0!r}; expected a driver branch number such as 580'.format(branch))
    fabric_manager = str(fabric_manager).lower()
    if fabric_manager not in FABRIC_MANAGER:
        raise DriverPlanError(
            'nvidia_driver_fabric_manager is {0!r}; expected auto, true or false'.format(fabric_manager))

    driver = facts.get('driver') or {}
    gpus = facts.get('gpus') or []
    gpu_count = facts.get('gpu_count') or 0
    loaded_version = driver.get('version') if driver.get('loaded') else None
    loaded_type = driver.get('kernel_module_type') if driver.get('loaded') else None
    plan = {
        'action': 'skip',
        'reason': '',
        'upgrade': False,
        'loaded_version': loaded_version,
        'loaded_kernel_module_type': loaded_type,
        'gpu_count': gpu_count,
        'packages': [],
        'headers_packages': [],
        'fabric_manager': False,
        'fabric_manager_packages': [],
        'dkms': False,
        # Said before a step that runs long and prints nothing meanwhile (the DKMS build); empty otherwise.
        'announcement': '',
        'secure_boot_blocked': False,
        'secure_boot_message': '',
        'repository': None,
        'module_stream': None,
        'apt_pin': None,
        'hold_packages': [],
    }

    if loaded_version:
        wanted_ok = (not branch or _major(loaded_version) == _major(branch)) and (
            kernel_modules in ('auto', loaded_type))
        if wanted_ok:
            plan['reason'] = 'driver {0} already loaded ({1} kernel module), nothing to do'.format(
                loaded_version, loaded_type or 'unknown')
            return plan
    elif not gpu_count and not install_without_gpu:
        plan['reason'] = ('no NVIDIA GPU on this host (gpu_facts found none), nothing to do;'
                          ' set nvidia_driver_install_without_gpu to install anyway (image builds)')
        return plan

    family, distro, major = _os(facts)
    source = _source_for(distro, family, source)
    effective_branch = branch or ('' if (distro == 'debian' and source == 'distro') else DEFAULT_BRANCH)
    modules, modules_reason = choose_kernel_modules(gpus, kernel_modules, effective_branch)
    release = str(kernel_release or (facts.get('kernel') or {}).get('release') or '')
    if not release:
        raise DriverPlanError(
            'the running kernel release is unknown (gpu_facts kernel.release); set nvidia_driver_kernel_release')
    fm_needed = bool((facts.get('fabric_manager') or {}).get('needed'))
    want_fm = fm_needed if fabric_manager == 'auto' else fabric_manager == 'true'

    plan.update({
        'action': 'install',
        'upgrade': bool(loaded_version),
        'family': family,
        'distribution': distro,
        'distribution_major': major,
        'source': source,
        'branch': effective_branch,
        'kernel_modules': modules,
        'kernel_modules_reason': modules_reason,
        'kernel_release': release,
        'fabric_manager': want_fm,
    })
    if loaded_version:
        plan['reason'] = 'driver {0} ({1}) is loaded but {2} ({3} kernel modules) is wanted'.format(
            loaded_version, loaded_type or 'unknown', effective_branch or 'the distribution branch', modules)
    else:
        plan['reason'] = 'no NVIDIA driver loaded; installing {0} ({1} kernel modules) from {2}'.format(
            ('branch ' + effective_branch) if effective_branch else "the distribution's branch", modules,
            'NVIDIA\'s CUDA repository' if source == 'cuda' else '{0} packages'.format(distro.capitalize()))

    _choose_packages(plan, headless=headless, ubuntu_precompiled=ubuntu_precompiled, arch=arch)
    if plan['dkms']:
        plan['announcement'] = dkms_announcement(plan)

    secure_boot = facts.get('secure_boot') or {}
    if plan['dkms'] and secure_boot.get('enabled') is True and not secure_boot_mok_enrolled:
        plan['secure_boot_blocked'] = True
        plan['secure_boot_message'] = secure_boot_steps(family, distro)
    return plan


def dkms_announcement(plan):
    """What the package install is about to do when it builds the kernel module, and how long it takes."""
    return (
        'Next: the package install builds the NVIDIA kernel module ({0}) with DKMS, compiling its source '
        'against the headers of kernel {1}. This usually takes 10 to 15 minutes on 2 cores (3 to 5 on 16), and '
        'the task prints nothing until it has finished; the compiler log is under /var/lib/dkms/nvidia*/ while '
        'it runs. A second run skips it.'.format(plan['kernel_modules'], plan['kernel_release']))


def _choose_packages(plan, headless, ubuntu_precompiled, arch):
    """Fill in the repository, packages, headers and holds of an install plan."""
    family, distro, major = plan['family'], plan['distribution'], plan['distribution_major']
    source, effective_branch, modules = plan['source'], plan['branch'], plan['kernel_modules']
    release, want_fm = plan['kernel_release'], plan['fabric_manager']
    if source == 'cuda':
        key = (family if family == 'redhat' else distro, major)
        repo_distro = CUDA_REPO_DISTROS.get(key)
        if repo_distro is None:
            raise DriverPlanError(
                "NVIDIA's CUDA repository has no {0} {1} directory; supported: {2}".format(
                    distro, major, ', '.join(sorted(CUDA_REPO_DISTROS.values()))))
        repo_arch = CUDA_REPO_ARCH.get(str(arch))
        if repo_arch is None:
            raise DriverPlanError('no CUDA repository for machine architecture {0!r}'.format(arch))
        # 'distro' picks the signing key: NVIDIA signs debian13 with another
        # key than the other apt directories.
        plan['repository'] = {'kind': 'cuda', 'distro': repo_distro, 'path': '{0}/{1}'.format(repo_distro, repo_arch)}

    if family == 'redhat':
        plan['module_stream'] = _redhat_module_stream(effective_branch, modules)
        plan['packages'] = _redhat_packages(modules, bool(headless))
        plan['headers_packages'] = ['kernel-devel-{0}'.format(release), 'kernel-headers']
        plan['dkms'] = True
        if want_fm:
            plan['fabric_manager_packages'] = _redhat_fabric_manager(effective_branch)
        plan['hold_packages'] = _redhat_hold_patterns(modules, bool(headless), want_fm)
    elif distro == 'ubuntu' and source == 'distro':
        plan['packages'] = _ubuntu_distro_packages(effective_branch, modules, headless, ubuntu_precompiled, release)
        plan['dkms'] = not ubuntu_precompiled
        if not ubuntu_precompiled:
            plan['headers_packages'] = ['linux-headers-{0}'.format(release)]
        if want_fm:
            plan['fabric_manager_packages'] = [
                'nvidia-fabricmanager-{0}'.format(effective_branch), 'libnvidia-nscq-{0}'.format(effective_branch)]
    elif distro == 'debian' and source == 'distro':
        if want_fm:
            raise DriverPlanError(
                'this node has NVSwitches and needs NVIDIA Fabric Manager, which Debian does not package;'
                ' set nvidia_driver_source: cuda (NVIDIA\'s repository ships nvidia-fabricmanager for the branch)')
        plan['packages'] = _debian_distro_packages(modules, headless)
        plan['headers_packages'] = ['linux-headers-{0}'.format(release)]
        plan['dkms'] = True
    else:
        plan['packages'] = _cuda_apt_packages(distro, effective_branch, modules, headless)
        plan['headers_packages'] = ['linux-headers-{0}'.format(release)]
        plan['dkms'] = True
        plan['apt_pin'] = {'branch': effective_branch}
        if want_fm:
            plan['fabric_manager_packages'] = _cuda_apt_fabric_manager(effective_branch)
    if family == 'debian':
        plan['hold_packages'] = [p for p in plan['packages'] + plan['fabric_manager_packages']
                                 if not p.startswith('linux-modules-nvidia-') or p.endswith(release)]


def secure_boot_steps(family, distro):
    """The Machine Owner Key enrolment steps for modules that DKMS builds on the node."""
    if family == 'redhat':
        key = '/var/lib/dkms/mok.pub'
        generate = 'dkms generate_mok (dnf install dkms mokutil from EPEL first)'
    else:
        key = '/var/lib/dkms/mok.pub'
        generate = 'dkms generate_mok (Debian/Ubuntu dkms >= 3 also creates it on first build)'
    steps = (
        'Secure Boot is enabled and the NVIDIA modules would be built on this node by DKMS, unsigned by any key'
        ' the firmware trusts, so the kernel would refuse to load them. Enrol a Machine Owner Key once: 1) {0};'
        ' 2) mokutil --import {1} (choose a one-time password); 3) reboot and confirm the key in MokManager'
        ' (console access needed); 4) re-run with nvidia_driver_secure_boot_mok_enrolled: true, and DKMS signs'
        ' the modules with that key.'.format(generate, key))
    if distro == 'ubuntu':
        steps += (' On Ubuntu, nvidia_driver_ubuntu_precompiled: true installs Canonical\'s signed modules'
                  ' instead, with no key to enrol.')
    else:
        steps += ' Or disable Secure Boot in the firmware.'
    return steps


def dkms_failure_summary(log_text, package='', kernel_release=''):
    """One line saying why a DKMS build failed, from make.log or apt's output."""
    text = log_text or ''
    error = None
    for line in text.splitlines():
        if re.search(r'\berror:', line) and 'warning' not in line.split('error:')[0]:
            error = line.strip()
            break
    if error is None:
        for line in text.splitlines():
            if 'Error!' in line or 'Bad return status' in line:
                error = line.strip()
                break
    where = ''
    if error:
        match = re.match(r'^(?:\S*/)?([^/\s:]+\.[ch]):(\d+):(?:\d+:)?\s*error:\s*(.*)$', error)
        where = '{0}:{1}: {2}'.format(match.group(1), match.group(2), match.group(3)) if match else error
    return '{0} does not build against kernel {1}{2}'.format(
        package or 'the NVIDIA kernel module', kernel_release or '(unknown)',
        ': ' + where if where else '')

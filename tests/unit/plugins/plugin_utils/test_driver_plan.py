# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._driver import (
    CUDA_REPO_DISTROS,
    DriverPlanError,
    architecture_of,
    choose_kernel_modules,
    dkms_failure_summary,
    plan_driver,
)

H100 = {'device_id': '0x2330', 'architecture': None}
H200 = {'device_id': '0x2335', 'architecture': 'Hopper'}
T4 = {'device_id': '0x1eb8'}
V100 = {'device_id': '0x1db4'}
B200 = {'device_id': '0x2901'}
OS = {
    'ubuntu2404': {'id': 'ubuntu', 'id_like': ['debian'], 'version_id': '24.04', 'family': 'debian'},
    'ubuntu2204': {'id': 'ubuntu', 'id_like': ['debian'], 'version_id': '22.04', 'family': 'debian'},
    'debian12': {'id': 'debian', 'id_like': [], 'version_id': '12', 'family': 'debian'},
    'debian13': {'id': 'debian', 'id_like': [], 'version_id': '13', 'family': 'debian'},
    'rocky9': {'id': 'rocky', 'id_like': ['rhel', 'centos', 'fedora'], 'version_id': '9.4', 'family': 'redhat'},
    'alma8': {'id': 'almalinux', 'id_like': ['rhel', 'centos', 'fedora'], 'version_id': '8.10', 'family': 'redhat'},
    'suse': {'id': 'sles', 'id_like': ['suse'], 'version_id': '15.5', 'family': 'suse'},
}


def node(os_name='ubuntu2404', gpus=(H100,), *, loaded=None, kernel='6.8.0-45-generic', nvswitch=False,
         secure_boot=False):
    driver = {'loaded': False, 'version': None, 'kernel_module_type': None}
    if loaded:
        driver = {'loaded': True, 'version': loaded[0], 'kernel_module_type': loaded[1]}
    return {
        'gpu_count': len(gpus),
        'gpus': [dict(g) for g in gpus],
        'driver': driver,
        'kernel': {'release': kernel, 'headers_installed': False},
        'os': OS[os_name],
        'fabric_manager': {'needed': nvswitch, 'installed': False},
        'secure_boot': {'enabled': secure_boot},
        'findings': [],
    }


def test_loaded_driver_of_the_wanted_branch_is_left_alone_with_the_reason():
    plan = plan_driver(node(gpus=(H200,), loaded=('580.159.04', 'open')), branch='580')
    assert plan['action'] == 'skip'
    assert plan['reason'] == 'driver 580.159.04 already loaded (open kernel module), nothing to do'
    assert plan['packages'] == []


def test_loaded_driver_is_accepted_when_no_branch_is_pinned():
    plan = plan_driver(node(gpus=(H200,), loaded=('550.163.01', 'proprietary')))
    assert plan['action'] == 'skip'


def test_loaded_driver_of_another_branch_is_upgraded_in_place():
    plan = plan_driver(node(gpus=(B200,), loaded=('570.172.08', 'open')), branch='580')
    assert plan['action'] == 'install'
    assert plan['upgrade'] is True
    assert 'nvidia-headless-no-dkms-580-server-open' in plan['packages']
    assert '570.172.08' in plan['reason']


def test_loaded_proprietary_module_is_replaced_when_open_is_asked_for():
    plan = plan_driver(node(gpus=(H100,), loaded=('580.95.05', 'proprietary')), kernel_modules='open')
    assert plan['action'] == 'install'
    assert plan['kernel_modules'] == 'open'


def test_host_without_gpu_is_skipped_unless_building_an_image():
    assert plan_driver(node(gpus=()))['action'] == 'skip'
    assert 'no NVIDIA GPU' in plan_driver(node(gpus=()))['reason']
    plan = plan_driver(node(os_name='debian13', gpus=(), kernel='6.12.117+deb13-amd64'), install_without_gpu=True)
    assert plan['action'] == 'install'
    assert plan['kernel_modules'] == 'proprietary'


def test_ubuntu_defaults_to_canonicals_signed_precompiled_server_packages():
    plan = plan_driver(node())
    assert plan['source'] == 'distro'
    assert plan['dkms'] is False
    assert plan['headers_packages'] == []
    assert plan['packages'] == [
        'linux-modules-nvidia-580-server-open-6.8.0-45-generic',
        'linux-modules-nvidia-580-server-open-generic',
        'nvidia-headless-no-dkms-580-server-open',
        'nvidia-utils-580-server',
    ]
    assert 'linux-modules-nvidia-580-server-open-generic' not in plan['hold_packages']


def test_ubuntu_cloud_kernel_flavour_gets_its_own_module_package():
    plan = plan_driver(node(kernel='6.8.0-1015-aws'))
    assert 'linux-modules-nvidia-580-server-open-aws' in plan['packages']


def test_ubuntu_dkms_and_full_driver_variants():
    plan = plan_driver(node(gpus=(V100,)), ubuntu_precompiled=False, headless=False, branch='570')
    assert plan['packages'] == ['nvidia-driver-570-server', 'nvidia-utils-570-server']
    assert plan['headers_packages'] == ['linux-headers-6.8.0-45-generic']
    assert plan['dkms'] is True


def test_debian_uses_its_own_packages_and_needs_headers_for_the_target_kernel():
    plan = plan_driver(node(os_name='debian13', gpus=(T4,), kernel='6.1.0-host'),
                       kernel_release='6.12.117+deb13-amd64')
    assert plan['source'] == 'distro'
    assert plan['kernel_modules'] == 'proprietary'
    assert plan['packages'][0] == 'nvidia-kernel-dkms'
    assert plan['headers_packages'] == ['linux-headers-6.12.117+deb13-amd64']
    assert plan['repository'] is None


def test_debian_open_modules_bring_the_gsp_firmware():
    plan = plan_driver(node(os_name='debian13', gpus=(H100,)), kernel_modules='open')
    assert plan['packages'][:2] == ['nvidia-open-kernel-dkms', 'firmware-nvidia-gsp']


def test_debian_has_no_fabric_manager_package_so_nvswitch_nodes_are_sent_to_the_cuda_repository():
    with pytest.raises(DriverPlanError, match='nvidia_driver_source: cuda'):
        plan_driver(node(os_name='debian12', nvswitch=True))
    plan = plan_driver(node(os_name='debian12', nvswitch=True), source='cuda')
    assert plan['repository'] == {'kind': 'cuda', 'distro': 'debian12', 'path': 'debian12/x86_64'}
    # NVIDIA's apt repository, branch <= 580: both carry the branch.
    assert plan['fabric_manager_packages'] == ['nvidia-fabricmanager-580', 'libnvidia-nscq-580']
    assert plan['apt_pin'] == {'branch': '580'}
    assert plan['module_stream'] is None
    assert plan['hold_packages'] == ['nvidia-driver-cuda', 'nvidia-kernel-open-dkms', 'nvidia-persistenced',
                                     'nvidia-fabricmanager-580', 'libnvidia-nscq-580']


def test_cuda_apt_repository_path_per_distribution_and_architecture():
    plan = plan_driver(node(os_name='ubuntu2204'), source='cuda', arch='aarch64')
    assert plan['repository'] == {'kind': 'cuda', 'distro': 'ubuntu2204', 'path': 'ubuntu2204/sbsa'}
    plan = plan_driver(node(os_name='debian13', kernel='6.12.117+deb13-amd64'), source='cuda')
    assert plan['repository'] == {'kind': 'cuda', 'distro': 'debian13', 'path': 'debian13/x86_64'}


@pytest.mark.parametrize('gpu, branch, headless, expected', [
    # Up to 580 NVIDIA's Ubuntu packages carry the branch in their names.
    (H100, '580', True,
     ['libnvidia-compute-580', 'nvidia-dkms-580-open', 'nvidia-utils-580', 'nvidia-compute-utils-580']),
    (V100, '570', True, ['libnvidia-compute-570', 'nvidia-dkms-570', 'nvidia-utils-570', 'nvidia-compute-utils-570']),
    (H100, '580', False, ['nvidia-open-580']),
    (V100, '570', False, ['cuda-drivers-570']),
    # From 590 on the branch is dropped (and held by the apt pin).
    (H100, '590', True, ['libnvidia-compute', 'nvidia-dkms-open', 'nvidia-utils', 'nvidia-compute-utils']),
    (T4, '590', True, ['libnvidia-compute', 'nvidia-dkms-open', 'nvidia-utils', 'nvidia-compute-utils']),
    (H100, '590', False, ['nvidia-open']),
])
def test_ubuntu_from_the_cuda_repository_uses_ubuntu_style_names(gpu, branch, headless, expected):
    plan = plan_driver(node(os_name='ubuntu2404', gpus=(gpu,)), source='cuda', branch=branch, headless=headless)
    assert plan['packages'] == expected
    assert plan['apt_pin'] == {'branch': branch}
    assert plan['dkms'] is True
    assert plan['headers_packages'] == ['linux-headers-6.8.0-45-generic']
    assert plan['hold_packages'] == expected


def test_ubuntu_from_the_cuda_repository_proprietary_modules_from_590():
    plan = plan_driver(node(os_name='ubuntu2404', gpus=(T4,)), source='cuda', branch='590',
                       kernel_modules='proprietary')
    assert plan['packages'] == ['libnvidia-compute', 'nvidia-dkms', 'nvidia-utils', 'nvidia-compute-utils']
    plan = plan_driver(node(os_name='ubuntu2404', gpus=(T4,)), source='cuda', branch='590',
                       kernel_modules='proprietary', headless=False)
    assert plan['packages'] == ['cuda-drivers']


@pytest.mark.parametrize('os_name, branch, expected', [
    ('ubuntu2404', '580', ['nvidia-fabricmanager-580', 'libnvidia-nscq-580']),
    ('ubuntu2204', '570', ['nvidia-fabricmanager-570', 'libnvidia-nscq-570']),
    ('ubuntu2404', '590', ['nvidia-fabricmanager', 'libnvidia-nscq']),
    ('debian13', '590', ['nvidia-fabricmanager', 'libnvidia-nscq']),
])
def test_cuda_apt_fabric_manager_and_nscq_carry_the_branch_up_to_580(os_name, branch, expected):
    plan = plan_driver(node(os_name=os_name, nvswitch=True), source='cuda', branch=branch)
    assert plan['fabric_manager'] is True
    assert plan['fabric_manager_packages'] == expected
    assert plan['hold_packages'][-2:] == expected


@pytest.mark.parametrize('branch, kernel_modules, headless, expected', [
    ('580', 'open', True, ['nvidia-driver-cuda', 'nvidia-kernel-open-dkms', 'nvidia-persistenced']),
    ('590', 'proprietary', True, ['nvidia-driver-cuda', 'nvidia-kernel-dkms', 'nvidia-persistenced']),
    ('580', 'open', False, ['nvidia-open']),
    ('570', 'proprietary', False, ['cuda-drivers']),
])
def test_debian_from_the_cuda_repository_keeps_debian_style_names(branch, kernel_modules, headless, expected):
    plan = plan_driver(node(os_name='debian13', gpus=(T4,), kernel='6.12.117+deb13-amd64'), source='cuda',
                       branch=branch, kernel_modules=kernel_modules, headless=headless)
    assert plan['packages'] == expected
    assert plan['apt_pin'] == {'branch': branch}


def test_rhel_family_enables_the_module_stream_of_the_branch_then_installs_plain_packages():
    plan = plan_driver(node(os_name='rocky9', gpus=(H200,), kernel='5.14.0-427.13.1.el9_4.x86_64'))
    assert plan['source'] == 'cuda'
    assert plan['module_stream'] == 'nvidia-driver:580-open'
    assert plan['packages'] == ['nvidia-driver-cuda', 'kmod-nvidia-open-dkms']
    assert plan['headers_packages'] == ['kernel-devel-5.14.0-427.13.1.el9_4.x86_64', 'kernel-headers']
    assert plan['repository'] == {'kind': 'cuda', 'distro': 'rhel9', 'path': 'rhel9/x86_64'}
    assert plan['apt_pin'] is None
    assert plan['fabric_manager_packages'] == []
    assert plan['hold_packages'] == ['nvidia-driver*', 'kmod-nvidia*', 'nvidia-kmod*', 'nvidia-persistenced*',
                                     'libnvidia-*']
    assert not any(p.startswith('@') for p in plan['packages'])


@pytest.mark.parametrize('os_name, gpu, branch, headless, expected', [
    ('rocky9', V100, '535', True, ('nvidia-driver:535-dkms', ['nvidia-driver-cuda', 'kmod-nvidia-latest-dkms'])),
    ('rocky9', H200, '580', False, ('nvidia-driver:580-open', ['nvidia-open'])),
    ('rocky9', V100, '570', False, ('nvidia-driver:570-dkms', ['cuda-drivers'])),
    ('alma8', T4, '550', True, ('nvidia-driver:550-dkms', ['nvidia-driver-cuda', 'kmod-nvidia-latest-dkms'])),
    ('alma8', B200, '590', True, ('nvidia-driver:590-open', ['nvidia-driver-cuda', 'kmod-nvidia-open-dkms'])),
])
def test_rhel_family_stream_and_packages_per_branch_and_flavour(os_name, gpu, branch, headless, expected):
    plan = plan_driver(node(os_name=os_name, gpus=(gpu,), kernel='4.18.0-553.el8_10.x86_64'), branch=branch,
                       headless=headless)
    assert (plan['module_stream'], plan['packages']) == expected
    assert plan['dkms'] is True


def test_rhel_family_full_driver_holds_its_meta_package():
    plan = plan_driver(node(os_name='rocky9', gpus=(H200,)), headless=False)
    assert 'nvidia-open*' in plan['hold_packages']
    plan = plan_driver(node(os_name='rocky9', gpus=(V100,)), headless=False)
    assert 'cuda-drivers*' in plan['hold_packages']
    assert 'nvidia-open*' not in plan['hold_packages']


@pytest.mark.parametrize('branch, expected', [
    # NVIDIA renamed both RPMs at 580 (NVIDIA/gpu-driver-container rhel9/install.sh).
    ('580', ['nvidia-fabricmanager', 'libnvidia-nscq']),
    ('590', ['nvidia-fabricmanager', 'libnvidia-nscq']),
    ('570', ['nvidia-fabric-manager', 'libnvidia-nscq-570']),
    ('535', ['nvidia-fabric-manager', 'libnvidia-nscq-535']),
])
def test_rhel_family_fabric_manager_names_per_branch(branch, expected):
    plan = plan_driver(node(os_name='rocky9', gpus=(H200,), nvswitch=True), branch=branch, kernel_modules='open')
    assert plan['fabric_manager_packages'] == expected
    assert plan['hold_packages'][-2:] == ['nvidia-fabric*manager*', 'libnvidia-nscq*']
    # The stream and packages do not change with Fabric Manager (no "fm" profile any more).
    assert plan['module_stream'] == 'nvidia-driver:{0}-open'.format(branch)
    assert plan['packages'] == ['nvidia-driver-cuda', 'kmod-nvidia-open-dkms']


def test_rhel_family_has_no_distribution_driver():
    with pytest.raises(DriverPlanError, match='cuda'):
        plan_driver(node(os_name='rocky9'), source='distro')


def test_secure_boot_blocks_dkms_with_the_enrolment_steps_but_not_signed_precompiled_modules():
    plan = plan_driver(node(os_name='debian12', secure_boot=True))
    assert plan['secure_boot_blocked'] is True
    assert 'mokutil --import' in plan['secure_boot_message']
    assert plan_driver(node(secure_boot=True))['secure_boot_blocked'] is False
    assert plan_driver(node(os_name='debian12', secure_boot=True),
                       secure_boot_mok_enrolled=True)['secure_boot_blocked'] is False


def test_unsupported_distribution_names_what_is_supported():
    with pytest.raises(DriverPlanError, match=r'Ubuntu 22\.04/24\.04, Debian 12/13'):
        plan_driver(node(os_name='suse'))


@pytest.mark.parametrize('gpu, branch, expected', [
    (H100, '580', 'open'),
    (T4, '580', 'open'),
    (T4, '550', 'proprietary'),
    (V100, '580', 'proprietary'),
    (B200, '570', 'open'),
    ({'device_id': '0x2b85'}, '', 'open'),
])
def test_auto_kernel_modules_follow_the_gpu_architecture_and_branch(gpu, branch, expected):
    assert choose_kernel_modules([gpu], 'auto', branch)[0] == expected


def test_blackwell_refuses_proprietary_and_pre_turing_refuses_open():
    with pytest.raises(DriverPlanError, match='need the open kernel modules'):
        choose_kernel_modules([B200], 'proprietary', '580')
    with pytest.raises(DriverPlanError, match='need the proprietary kernel modules'):
        choose_kernel_modules([V100], 'open', '580')
    with pytest.raises(DriverPlanError, match='split them across nodes'):
        choose_kernel_modules([B200, V100], 'auto', '580')


def test_architecture_from_nvidia_smi_wins_over_the_device_id():
    assert architecture_of({'device_id': '0x1db4', 'architecture': 'Volta'}) == ('Volta', 'nvidia-smi')
    assert architecture_of({'device_id': '0x2901'}) == ('Blackwell', 'PCI device id')
    assert architecture_of({'device_id': 'bogus'}) == (None, None)


def test_bad_options_say_what_is_expected():
    with pytest.raises(DriverPlanError, match='branch number'):
        plan_driver(node(), branch='latest')
    with pytest.raises(DriverPlanError, match='nvidia_driver_kernel_modules'):
        plan_driver(node(), kernel_modules='closed')
    with pytest.raises(DriverPlanError, match='gpu_facts'):
        plan_driver({'gpus': []})


MAKE_LOG = """\
DKMS make.log for nvidia-current-open-550.163.01 for kernel 6.12.117+deb13-amd64 (x86_64)
  CC [M]  nvidia/nv-pci.o
/var/lib/dkms/nvidia-current-open/550.163.01/build/nvidia/nv-pci.c: In function 'nv_resize_pcie_bars':
/var/lib/dkms/nvidia-current-open/550.163.01/build/nvidia/nv-pci.c:175:9: error: too few arguments to function \
'pci_resize_resource'
make[2]: *** [scripts/Makefile.build:229: nvidia/nv-pci.o] Error 1
"""


def test_dkms_failure_is_one_line_with_package_kernel_and_first_error():
    line = dkms_failure_summary(MAKE_LOG, 'nvidia-open-kernel-dkms', '6.12.117+deb13-amd64')
    assert line == ("nvidia-open-kernel-dkms does not build against kernel 6.12.117+deb13-amd64: "
                    "nv-pci.c:175: too few arguments to function 'pci_resize_resource'")
    assert '\n' not in line


def test_dkms_failure_without_a_compiler_error_still_names_package_and_kernel():
    log = 'Error! Bad return status for module build on kernel: 6.12'
    line = dkms_failure_summary(log, 'nvidia-kernel-dkms', '6.12')
    assert line.startswith('nvidia-kernel-dkms does not build against kernel 6.12: Error! Bad return status')


ROLE = Path(__file__).resolve().parents[4] / 'roles' / 'driver'


def _role_defaults():
    defaults = yaml.safe_load((ROLE / 'defaults' / 'main.yml').read_text())
    specs = yaml.safe_load((ROLE / 'meta' / 'argument_specs.yml').read_text())
    return defaults, specs['argument_specs']['main']['options']


def test_role_pins_nvidia_cuda_signing_keys_per_apt_directory():
    defaults, options = _role_defaults()
    # NVIDIA/cuda-repo-management README and SIGNATURES.md: debian13 is signed
    # by the Kitmaker key 8793F200, the other apt directories by 3bf863cc.
    cudatools = {'file': '3bf863cc.pub', 'fingerprint': 'EB693B3035CD5710E231E123A4B469963BF863CC'}
    assert defaults['nvidia_driver_cuda_apt_keys'] == {
        'ubuntu2204': cudatools,
        'ubuntu2404': cudatools,
        'debian12': cudatools,
        'debian13': {'file': '8793F200.pub', 'fingerprint': '02182E60104FCDC26EAE1B8597A5D4CB8793F200'},
    }
    assert options['nvidia_driver_cuda_apt_keys']['type'] == 'dict'
    assert options['nvidia_driver_cuda_apt_keys']['default'] == defaults['nvidia_driver_cuda_apt_keys']
    apt_directories = {d for (family, _major), d in CUDA_REPO_DISTROS.items() if family != 'redhat'}
    assert set(defaults['nvidia_driver_cuda_apt_keys']) == apt_directories
    assert 'nvidia_driver_cuda_apt_key_file' not in defaults
    assert 'nvidia_driver_cuda_apt_key_fingerprint' not in defaults


def test_role_pins_the_cuda_rpm_signing_key():
    defaults, options = _role_defaults()
    # NVIDIA/cuda-repo-management SIGNATURES.md: "610C 7B14 E068 A878 070D A4E9 9CD0 A493 D42D 0685".
    assert defaults['nvidia_driver_cuda_rpm_key_file'] == 'D42D0685.pub'
    assert defaults['nvidia_driver_cuda_rpm_key_fingerprint'] == '610C7B14E068A878070DA4E99CD0A493D42D0685'
    assert options['nvidia_driver_cuda_rpm_key_fingerprint']['default'] == '610C7B14E068A878070DA4E99CD0A493D42D0685'


def test_a_dkms_build_is_announced_with_what_it_is_and_how_long_it_takes():
    plan = plan_driver(node('debian13', kernel='6.12.57+deb13-amd64'), branch='', kernel_modules='proprietary')

    assert plan['dkms'] is True
    assert 'DKMS' in plan['announcement'] and '6.12.57+deb13-amd64' in plan['announcement']
    assert '10 to 15 minutes on 2 cores' in plan['announcement']


def test_signed_precompiled_modules_build_nothing_and_announce_nothing():
    plan = plan_driver(node('ubuntu2404'))

    assert plan['dkms'] is False and plan['announcement'] == ''

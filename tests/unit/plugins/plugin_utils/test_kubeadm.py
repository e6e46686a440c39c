# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubeadm import KubeadmInputError, classify

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures' / 'kubeadm'


def result(name, rc=1, cmd=('kubeadm', 'init')):
    return {
        'stdout': (FIXTURES / (name + '.stdout')).read_text(),
        'stderr': (FIXTURES / (name + '.stderr')).read_text(),
        'rc': rc, 'cmd': list(cmd), 'failed': rc != 0,
    }


def test_real_preflight_cri_and_cgroup_v1():
    verdict = classify(result('init-cri-cgroupv1'))
    assert verdict['reason'] == 'preflight'
    assert verdict['preflight'] == ['CRI', 'ContainerRuntimeVersion', 'SystemVerification']
    assert verdict['message'].startswith('kubeadm init: preflight checks failed: [CRI] could not connect')
    assert '\n' not in verdict['message'] and '\n' not in verdict['fix']
    assert 'kubernetes_cri_socket' in verdict['fix']
    assert 'failCgroupV1: false' in verdict['fix'] and 'kubernetes_ignore_preflight_errors' in verdict['fix']
    assert verdict['details'][-1].startswith('[preflight] If you know what you are doing')
    assert not any('WARNING' in line for line in verdict['details'])


def test_real_preflight_leftovers_of_an_earlier_cluster():
    verdict = classify(result('init-occupied'))
    assert verdict['preflight'] == [
        'Port-6443',
        'FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml',
        'FileContent--proc-sys-net-ipv4-ip_forward',
        'DirAvailable--var-lib-etcd',
    ]
    assert '/etc/kubernetes/manifests/kube-apiserver.yaml is left from an earlier kubeadm init' in verdict['fix']
    assert 'kubernetes_state: absent' in verdict['fix']
    assert 'net.ipv4.ip_forward = 1' in verdict['fix']
    assert '/var/lib/etcd holds data of an earlier control plane' in verdict['fix']
    assert '[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty' in verdict['details']


def test_real_port_6443_and_kubelet_version():
    verdict = classify(result('init-kubelet-version'))
    assert verdict['preflight'] == ['Port-6443', 'KubeletVersion']
    assert 'Port 6443 (the API server) is taken' in verdict['fix']
    assert 'already runs a Kubernetes node' in verdict['fix'] and 'never resets' in verdict['fix']
    assert 'Kubelet version: "1.37.0" Control plane version: "1.36.2"' in verdict['message']
    assert 'kubernetes_version' in verdict['fix']


def test_real_not_root_and_numcpu():
    assert classify(result('init-not-root'))['preflight'] == ['IsPrivilegedUser']
    assert 'become: true' in classify(result('init-not-root'))['fix']
    verdict = classify(result('init-numcpu'))
    assert verdict['preflight'] == ['NumCPU']
    assert 'NumCPU to kubernetes_ignore_preflight_errors' in verdict['fix']


def test_mem_error_and_v136_swap_warning():
    verdict = classify(result('init-swap-mem'))
    # kubeadm v1.36 only warns about swap; the kubelet refuses it later (kubelet_unhealthy).
    assert verdict['preflight'] == ['Mem']
    assert 'the system RAM (1024 MB) is less than the minimum 1700 MB' in verdict['message']


def test_legacy_swap_error_names_both_fixes():
    verdict = classify(result('init-swap-legacy'))
    assert verdict['preflight'] == ['Swap']
    assert 'swapoff -a' in verdict['fix']
    assert 'kubernetes_kubelet_config: {failSwapOn: false}' in verdict['fix']
    assert 'Swap in kubernetes_ignore_preflight_errors' in verdict['fix']


def test_image_pull_is_preflight_not_unreachable_api():
    verdict = classify(result('init-imagepull'))
    assert verdict['reason'] == 'preflight'
    assert verdict['preflight'] == ['ImagePull']
    assert 'kubernetes_image_repository' in verdict['fix'] and 'kubernetes_install: offline' in verdict['fix']


def test_kubelet_never_healthy():
    verdict = classify(result('init-kubelet-unhealthy'))
    assert verdict['reason'] == 'kubelet_unhealthy'
    assert verdict['message'].startswith(
        'kubeadm init: the kubelet did not become healthy: failed while waiting for the kubelet to start')
    assert 'journalctl -u kubelet' in verdict['fix']
    for cause in ('kubernetes_cgroup_driver', 'failCgroupV1: false', 'failSwapOn: false'):
        assert cause in verdict['fix']
    assert '[kubelet-check] The kubelet is not healthy after 4m0.000866718s' in verdict['details']


def test_control_plane_never_healthy():
    verdict = classify(result('init-control-plane-unhealthy'))
    assert verdict['reason'] == 'control_plane_unhealthy'
    assert 'kube-apiserver did not become healthy' in verdict['fix']
    assert 'crictl' in verdict['fix']
    assert '[control-plane-check] kube-apiserver is not healthy after 4m0.000416592s' in verdict['details']


def test_join_token_unknown():
    verdict = classify(result('join-token-unknown', cmd=('kubeadm', 'join')), command='join')
    assert verdict['reason'] == 'join_token_invalid'
    assert 'could not find a JWS signature in the cluster-info ConfigMap for token ID "abcdef"' in verdict['message']
    assert 'kubeadm token create --print-join-command' in verdict['fix']


def test_join_ca_hash_mismatch():
    verdict = classify(result('join-ca-hash', cmd=('kubeadm', 'join')), command='join')
    assert verdict['reason'] == 'join_ca_hash_mismatch'
    assert 'are pinned' in verdict['message']
    assert 'kubernetes_control_plane_endpoint' in verdict['fix'] and 'openssl x509 -pubkey' in verdict['fix']


@pytest.mark.parametrize('name, cause', [('join-refused', 'connect: connection refused'),
                                         ('join-timeout', 'i/o timeout')])
def test_join_api_server_unreachable(name, cause):
    verdict = classify(result(name, cmd=('kubeadm', 'join')), command='join')
    assert verdict['reason'] == 'api_server_unreachable'
    assert verdict['message'].endswith('did not answer: ' + cause)
    assert 'kubernetes_control_plane_endpoint' in verdict['fix']
    assert verdict['preflight'] == []


def test_real_refused_names_the_endpoint():
    verdict = classify(result('join-refused', cmd=('kubeadm', 'join')), command='join')
    assert verdict['message'] == ('kubeadm join: the API server at 127.0.0.1:6443 did not answer: '
                                  'connect: connection refused')


def test_unknown_failure_is_the_last_phase_error():
    verdict = classify(result('init-no-apiserver'))
    assert verdict['reason'] == 'unknown'
    assert verdict['message'].startswith(
        'kubeadm init: error execution phase wait-control-plane: cannot obtain client without bootstrap')
    assert '--v=5' in verdict['fix']


def test_unknown_failure_without_phase_is_the_last_stderr_line():
    verdict = classify({'stdout': '', 'stderr': 'W1201 warning\nerror: something odd\nTo see the stack trace of this '
                        'error execute with --v=5 or higher\n', 'rc': 1}, command='reset')
    assert verdict == {'reason': 'unknown', 'message': 'kubeadm reset: something odd',
                       'fix': verdict['fix'], 'preflight': [], 'details': ['something odd']}


def test_command_that_never_ran_uses_the_task_message():
    verdict = classify({'rc': 2, 'msg': "[Errno 2] No such file or directory: b'kubeadm'", 'stdout': '', 'stderr': ''})
    assert verdict['message'] == "kubeadm init: [Errno 2] No such file or directory: b'kubeadm'"


def test_token_without_admin_kubeconfig():
    verdict = classify(result('token-no-kubeconfig', cmd=('kubeadm', 'token', 'create')), command='token')
    assert verdict['reason'] == 'admin_kubeconfig_missing'
    assert verdict['message'] == ('kubeadm token: failed to load admin kubeconfig: open /root/.kube/config: '
                                  'no such file or directory')


def test_success_is_ok():
    assert classify(result('reset', rc=0, cmd=('kubeadm', 'reset', '-f')), command='reset')['reason'] == 'ok'


@pytest.mark.parametrize('bad', ['a string', None, ['list']])
def test_rejects_what_is_not_a_result(bad):
    with pytest.raises(KubeadmInputError, match='registered result'):
        classify(bad)


def test_rejects_an_unknown_command():
    with pytest.raises(KubeadmInputError, match='init, join, reset, token'):
        classify({'rc': 1}, command='upgrade')

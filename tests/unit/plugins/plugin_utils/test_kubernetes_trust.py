# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kubernetes role trusts: the CNI manifest, the join token's TTL, the kubeconfig's path and the API."""

from __future__ import annotations

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubeadm import token_ttl
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._kubernetes import (
    cni_manifest_problem,
    kubeconfig_path_problem,
    kubeconfig_problem,
    trust_problems,
)

SHA = 'a' * 64
GOOD = {'cni': 'manifest', 'cni_manifest': 'https://example.org/calico.yaml', 'cni_manifest_checksum': SHA,
        'cni_manifest_is_file': False, 'join_token_ttl': '15m', 'kubeconfig': '/root/.kube/kubegpu.conf'}


@pytest.mark.parametrize('ttl, seconds', [('15m', 900), ('1m', 60), ('24h', 86400), ('1h30m', 5400), ('90s', 90)])
def test_a_join_token_ttl_from_1m_to_24h_is_usable(ttl, seconds):
    assert token_ttl(ttl) == {'seconds': seconds, 'problem': ''}


@pytest.mark.parametrize('ttl', ['0', 0, '0s'])
def test_a_ttl_of_zero_is_refused_as_never_expiring(ttl):
    problem = token_ttl(ttl)['problem']
    assert problem.startswith('kubernetes_join_token_ttl is ') and 'never expires' in problem


@pytest.mark.parametrize('ttl, words', [('30s', '(30 s)'), ('25h', '(90000 s)'), ('15', 'not a duration'),
                                        ('fifteen minutes', 'not a duration'), ('', 'not a duration')])
def test_a_ttl_out_of_bounds_or_not_a_duration_is_refused(ttl, words):
    problem = token_ttl(ttl)['problem']
    assert problem.startswith('kubernetes_join_token_ttl is ') and words in problem and 'e.g. 15m' in problem


def test_a_pinned_https_manifest_and_a_local_file_are_accepted():
    assert cni_manifest_problem('https://example.org/calico.yaml', SHA) == ''
    assert cni_manifest_problem('https://example.org/calico.yaml', 'sha256:' + SHA.upper()) == ''
    assert cni_manifest_problem('/srv/calico.yaml', '', is_file=True) == ''


def test_a_plain_http_manifest_is_refused_even_with_a_checksum():
    problem = cni_manifest_problem('http://example.org/calico.yaml', SHA)
    assert 'kubernetes_cni_manifest is http://example.org/calico.yaml, a http URL' in problem
    assert 'kubernetes_cni_manifest_checksum' in problem


def test_an_https_manifest_without_a_checksum_is_refused():
    problem = cni_manifest_problem('https://example.org/calico.yaml', '')
    assert 'kubernetes_cni_manifest_checksum is empty' in problem and 'sha256sum' in problem


@pytest.mark.parametrize('manifest', ['ftp://example.org/c.yaml', 'file:///srv/c.yaml'])
def test_other_schemes_are_refused(manifest):
    assert 'URL' in cni_manifest_problem(manifest, SHA)


def test_a_malformed_checksum_and_a_missing_file_are_named():
    assert cni_manifest_problem('https://example.org/c.yaml', 'md5:abc').startswith(
        "kubernetes_cni_manifest_checksum is 'md5:abc'")
    assert 'not a file on the controller' in cni_manifest_problem('calico.yaml', '', is_file=False)


@pytest.mark.parametrize('path, words', [('kubegpu.conf', 'a relative path'), ('', 'is empty'),
                                         ('/root/.kube/', 'a directory')])
def test_a_kubeconfig_path_that_is_not_absolute_is_refused_with_a_message(path, words):
    problem = kubeconfig_path_problem(path)
    assert problem.startswith('kubernetes_kubeconfig is') and words in problem


def test_trust_problems_lists_each_problem_once():
    assert trust_problems(GOOD) == []
    bad = dict(GOOD, cni_manifest='http://example.org/c.yaml', join_token_ttl='0', kubeconfig='rel.conf')
    problems = trust_problems(bad)
    assert len(problems) == 3
    assert [p.split(' ')[0] for p in problems] == [
        'kubernetes_cni_manifest', 'kubernetes_join_token_ttl', 'kubernetes_kubeconfig']
    # The manifest is not read when the CNI is not a manifest.
    assert trust_problems(dict(GOOD, cni='bridge', cni_manifest='http://x')) == []


KUBECONFIG = b'''apiVersion: v1
kind: Config
current-context: kubegpu
clusters: [{name: kubegpu, cluster: {server: "https://10.0.0.1:6443"}}]
users: [{name: admin, user: {token: x}}]
contexts: [{name: kubegpu, context: {cluster: kubegpu, user: admin}}]
'''


def test_an_answering_api_server_is_no_problem():
    assert kubeconfig_problem({'failed': False, 'resources': []}, '/k.conf', KUBECONFIG) == ''


@pytest.mark.parametrize('error, words', [
    ('Unauthorized (401)', 'refuses its credentials (401 Unauthorized)'),
    ('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate',
     'not signed by the kubeconfig\'s certificate authority'),
    ('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired',
     'the API server\'s certificate has expired'),
    ('Failed to resolve \'api.example\' ([Errno -2] Name or service not known)', 'does not resolve'),
    ('Connection to 10.0.0.1 timed out. (connect timeout=5)', 'does not answer (timed out)'),
])
def test_the_probe_error_is_said_with_the_server_and_the_fix(error, words):
    message = kubeconfig_problem({'failed': True, 'msg': error}, '/k.conf', KUBECONFIG)
    assert message.startswith('The cluster stage cannot talk to the cluster: the kubeconfig /k.conf ')
    assert words in message and 'https://10.0.0.1:6443' in message
    assert message.endswith('Nothing was deployed.')


@pytest.mark.parametrize('content, context, words', [
    (b'clusters: [', '', 'is not valid YAML at line'),
    (b'kind: Config\n', '', 'is not a kubeconfig'),
    (KUBECONFIG, 'other', "has no context 'other' (it has: kubegpu)"),
])
def test_a_broken_file_is_said_before_the_probe_error(content, context, words):
    message = kubeconfig_problem({'failed': True, 'msg': 'Connection refused'}, '/k.conf', content, context)
    assert words in message and 'connection refused' not in message

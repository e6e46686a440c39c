# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster stage's first request (kubernetes role, tasks/api_check.yml) with kubeconfigs that cannot work.

Real kubernetes.core and Kubernetes client on localhost: a port nothing listens on, a file that is not UTF-8,
a client certificate that expired (made here), a missing file. Each stops with one message naming the file.
"""

from __future__ import annotations

import base64
import datetime
import json
import socket
import subprocess
import sys
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def kubeconfig(server, user=None):
    return yaml.safe_dump({
        'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'kubegpu',
        'clusters': [{'name': 'kubegpu', 'cluster': {'server': server, 'insecure-skip-tls-verify': True}}],
        'users': [{'name': 'admin', 'user': user or {'token': 'not-a-real-token'}}],
        'contexts': [{'name': 'kubegpu', 'context': {'cluster': 'kubegpu', 'user': 'admin'}}],
    })


def expired_client_certificate():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'kubernetes-admin')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now - datetime.timedelta(days=35)).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return {'client-certificate-data': base64.b64encode(pem).decode(),
            'client-key-data': base64.b64encode(key_pem).decode()}, cert.not_valid_after_utc


def check(ansible_env, tmp_path, path):
    playbook = tmp_path / 'check.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'The cluster stage\'s first request', 'hosts': 'localhost', 'gather_facts': False,
        'tasks': [{'name': 'Check that the cluster answers',
                   'ansible.builtin.include_role': {'name': 'kubegpu.nvidia.kubernetes', 'tasks_from': 'api_check'}}],
    }]))
    variables = {'ansible_python_interpreter': sys.executable, 'kubegpu_kubeconfig': str(path),
                 'kubegpu_kube_context': ''}
    env = dict(ansible_env, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    proc = subprocess.run([str(VENV_BIN / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', json.dumps(variables), str(playbook)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.stdout, proc.stderr
    tasks = json.loads(proc.stdout)['plays'][0]['tasks']
    # The probe's own failure is ignored (its words go into the one message); only the stop fails the play.
    failed = [t for t in tasks if t['hosts'].get('localhost', {}).get('failed')
              and not t['task']['name'].endswith('Ask the API server for the kube-system namespace')]
    return proc.returncode, failed


def test_a_closed_port_is_named_with_the_kubeconfig_once(ansible_env, tmp_path):
    port = closed_port()
    path = tmp_path / 'closed.conf'
    path.write_text(kubeconfig('https://127.0.0.1:{0}'.format(port)))
    code, failed = check(ansible_env, tmp_path, path)
    assert code == 2 and len(failed) == 1
    message = failed[0]['hosts']['localhost']['msg']
    assert message.startswith('The cluster stage cannot talk to the cluster: the kubeconfig {0} '.format(path))
    assert 'points at https://127.0.0.1:{0}, where nothing answers (connection refused)'.format(port) in message
    assert 'HTTPSConnectionPool' not in message and message.endswith('Nothing was deployed.')


def test_bytes_that_are_not_utf8_are_named(ansible_env, tmp_path):
    path = tmp_path / 'latin1.conf'
    path.write_bytes(kubeconfig('https://127.0.0.1:{0}'.format(closed_port())).encode() + b'# caf\xe9\n')
    code, failed = check(ansible_env, tmp_path, path)
    assert code == 2 and len(failed) == 1
    message = failed[0]['hosts']['localhost']['msg']
    assert '{0} holds bytes that are not UTF-8 (byte 0xe9 at offset'.format(path) in message
    assert 'codec' not in message and 'kubernetes_kubeconfig' in message


def test_an_expired_client_certificate_is_named_with_its_date(ansible_env, tmp_path):
    user, expired = expired_client_certificate()
    path = tmp_path / 'expired.conf'
    path.write_text(kubeconfig('https://127.0.0.1:{0}'.format(closed_port()), user))
    code, failed = check(ansible_env, tmp_path, path)
    assert code == 2 and len(failed) == 1
    message = failed[0]['hosts']['localhost']['msg']
    assert 'carries a client certificate that expired on {0:%Y-%m-%d %H:%M} UTC'.format(expired) in message
    assert 'kubeadm certs renew admin.conf' in message


def test_a_missing_kubeconfig_is_named(ansible_env, tmp_path):
    path = tmp_path / 'nowhere.conf'
    code, failed = check(ansible_env, tmp_path, path)
    assert code == 2 and len(failed) == 1
    message = failed[0]['hosts']['localhost']['msg']
    assert 'the kubeconfig {0} cannot be read (missing, or not readable by this user)'.format(path) in message

# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every manifest the cluster roles own: valid for Kubernetes 1.31 to 1.34, and clean under checkov."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# Needs kubernetes-validate: run through tests/integration/cluster/run.sh, which installs it (no skip).
importlib.import_module('kubernetes_validate')

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
BIN = Path(sys.executable).parent
KUBERNETES_VERSIONS = ('1.31.0', '1.32.0', '1.33.0', '1.34.0')


@pytest.fixture(scope='module')
def manifests(tmp_path_factory):
    out = tmp_path_factory.mktemp('manifests')
    collections = tmp_path_factory.mktemp('collections') / 'ansible_collections' / 'kubegpu'
    collections.mkdir(parents=True)
    (collections / 'nvidia').symlink_to(REPO)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=str(collections.parents[1]),
               PATH='{0}{1}{2}'.format(BIN, os.pathsep, os.environ['PATH']))
    proc = subprocess.run(
        [str(BIN / 'ansible-playbook'), '-i', str(HERE / 'inventory.yml'), str(HERE / 'render_manifests.yml'),
         '-e', json.dumps({'manifest_dir': str(out), 'ansible_python_interpreter': sys.executable})],
        cwd=HERE, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = sorted(out.glob('*.yml'))
    # A template that renders to nothing in a variant (no RuntimeClass in cdi mode is still rendered here) is fine;
    # every file must hold exactly one object.
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(docs) == 1, path
    return files


@pytest.mark.parametrize('version', KUBERNETES_VERSIONS)
def test_rendered_manifests_are_valid_kubernetes_objects(manifests, version):
    proc = subprocess.run([str(BIN / 'kubernetes-validate'), '--strict', '-k', version, *map(str, manifests)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (proc.stdout + proc.stderr).count(' passed for resource ') == len(manifests), proc.stdout + proc.stderr


def test_rendered_manifests_pass_checkov(manifests, tmp_path):
    for path in manifests:
        shutil.copy(path, tmp_path / path.name)
    argv = [str(BIN / 'checkov'), '-d', str(tmp_path), '--framework', 'kubernetes', '-o', 'json', '--quiet']
    proc = subprocess.run(argv,
                          capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(proc.stdout or '{}')
    failed = [] if not report else [(c['check_id'], c['file_path'], c['check_name'])
                                    for c in report.get('results', {}).get('failed_checks', [])]
    assert failed == [], failed
    assert report['summary']['passed'] > 0

# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/gpu/start_latency.py's arithmetic and argument checks (its starts run in tests/gpu/rehearse.sh)."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

_PATH = pathlib.Path(__file__).parents[3] / 'tests' / 'gpu' / 'start_latency.py'
_SPEC = importlib.util.spec_from_file_location('start_latency', _PATH)
start_latency = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(start_latency)


def test_summary_of_twenty_starts_takes_the_nearest_rank_p90():
    summary = start_latency.summarize([float(n) for n in range(20, 0, -1)])
    assert summary == {'n': 20, 'median': 10.5, 'min': 1.0, 'p90': 18.0, 'max': 20.0}


def test_summary_of_an_odd_count_and_of_none():
    assert start_latency.summarize([0.3, 0.1, 0.2])['median'] == 0.2
    assert start_latency.summarize([0.3, 0.1, 0.2])['p90'] == 0.3
    assert start_latency.summarize([])['n'] == 0
    assert start_latency.summarize([])['median'] is None


def test_a_shim_variant_in_cdi_mode_keeps_its_device_and_spec_dirs():
    variant = start_latency.parse_variant('ours=shim,mode=cdi,spec_dirs=/a:/b,device=nvidia.com/gpu=all')
    assert variant['device'] == 'nvidia.com/gpu=all'
    assert variant['spec_dirs'] == '/a:/b'
    assert variant['kind'] == 'shim'


@pytest.mark.parametrize('text, words', [
    ('ours', 'NAME=KIND'),
    ('ours=docker', 'runc or shim'),
    ('ours=shim', 'mode=cdi or mode=jit-cdi'),
    ('ours=shim,mode=cdi', 'device='),
    ('ours=runc,config', 'not key=value'),
])
def test_a_bad_variant_says_what_is_wrong(text, words):
    with pytest.raises(ValueError, match=words):
        start_latency.parse_variant(text)


def test_the_config_variant_starts_from_what_the_shim_wrote_with_its_own_command():
    written = {'shim': {'process': {'args': ['sh', '-c', 'check']}, 'linux': {'devices': [{'path': '/dev/nvidia0'}]}}}
    variant = {'name': 'cdi', 'kind': 'runc', 'config': '@shim'}
    config = start_latency.variant_config(variant, '/root', ['/bin/true'], written)
    assert config['process']['args'] == ['/bin/true']
    assert config['linux']['devices'] == [{'path': '/dev/nvidia0'}]
    assert written['shim']['process']['args'] == ['sh', '-c', 'check']


def test_only_the_shim_variants_ask_for_the_gpu():
    base = start_latency.variant_config({'name': 'none', 'kind': 'runc'}, '/root', ['/bin/true'], {})
    shim = {'name': 's', 'kind': 'shim', 'mode': 'cdi', 'device': 'k/c=all'}
    cdi = start_latency.variant_config(shim, '/root', ['x'], {})
    jit = start_latency.variant_config({'name': 'j', 'kind': 'shim', 'mode': 'jit-cdi'}, '/root', ['x'], {})
    assert 'annotations' not in base
    assert not any(e.startswith('NVIDIA_VISIBLE_DEVICES=') for e in base['process']['env'])
    assert cdi['annotations'] == {'cdi.k8s.io/start-latency': 'k/c=all'}
    assert 'NVIDIA_VISIBLE_DEVICES=all' in jit['process']['env']


def test_the_table_divides_by_the_first_variant_and_names_a_failure():
    results = [
        {'name': 'none', 'summary': start_latency.summarize([0.1, 0.1, 0.1]), 'check': {'passed': True}},
        {'name': 'jit', 'summary': start_latency.summarize([0.3, 0.3]), 'check': {'passed': True}},
        {'name': 'bad', 'summary': start_latency.summarize([]), 'error': 'check FAILED'},
    ]
    rows = start_latency.table(results).splitlines()
    assert rows[2].split()[6] == '3.00'
    assert rows[3].rstrip().endswith('check FAILED')


def test_the_config_variant_runs_in_the_root_it_is_given_not_the_shims():
    written = {'shim': {'root': {'path': '/shim-root'}, 'process': {'args': ['check']}}}
    config = start_latency.variant_config({'name': 'cdi', 'kind': 'runc', 'config': '@shim'}, '/own', ['x'], written)
    assert config['root']['path'] == '/own'
    assert written['shim']['root']['path'] == '/shim-root'


class _MountPointRunner:
    """Stands in for runc: every start leaves an empty mount point in its root, as runc does for a file mount."""

    last_create = 0.0

    def start(self, variant, config, index, timeout):
        root = pathlib.Path(config['root']['path'])
        seen = sorted(p.name for p in (root / 'usr' / 'bin').iterdir())
        (root / 'usr' / 'bin' / ('mount-point-of-' + variant['name'])).touch()
        return 0.01, 'seen: {0}\nexit=0\n'.format(' '.join(seen)), 0, config


def test_each_variant_starts_from_a_root_without_the_files_an_earlier_variant_left(tmp_path):
    rootfs = tmp_path / 'rootfs'
    (rootfs / 'usr' / 'bin').mkdir(parents=True)
    (rootfs / 'usr' / 'bin' / 'sh').touch()
    args = type('Args', (), {'rootfs': str(rootfs), 'work': str(tmp_path), 'check': 'true', 'expect': 'seen',
                             'timeout': 5, 'warmup': 0, 'runs': 0, 'budget': 5})()
    runner = _MountPointRunner()
    first = start_latency.run_variant(runner, args, {'name': 'first', 'kind': 'runc'}, {})
    second = start_latency.run_variant(runner, args, {'name': 'second', 'kind': 'runc'}, {})
    assert first['check']['output'].startswith('seen: sh\n')
    assert second['check']['output'].startswith('seen: sh\n')
    # The pristine root is never written to.
    assert sorted(p.name for p in (rootfs / 'usr' / 'bin').iterdir()) == ['sh']

# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validate role's verdict and summary on a node with several GPUs, with and without time-slicing."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate import gpus_cell, pod_verdict, summary_table
from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._validate_nodes import capacity_report

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures' / 'validate'
LOG = (FIXTURES / 'nvidia-smi-L-8x-h100.txt').read_text()
# What gpu_facts reported for the node (its plan entry): the 8 UUIDs, here written out on their own.
PLAN_UUIDS = ['GPU-3f1a6c2e-0b7d-4e59-a1c8-5d2e90a1b30%d' % i for i in range(8)]
PLAN = {'node': 'hgx-1', 'gpu_count': 8, 'uuids': PLAN_UUIDS}
FOREIGN = 'GPU-00000000-dead-beef-0000-000000000008'
SUCCEEDED = {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'kubegpu-validate-hgx-1'},
             'status': {'phase': 'Succeeded', 'containerStatuses': [
                 {'name': 'nvidia-smi', 'state': {'terminated': {'exitCode': 0, 'reason': 'Completed'}}}]}}


def node(gpus):
    return {'metadata': {'name': 'hgx-1'}, 'status': {'capacity': {'cpu': '224', 'nvidia.com/gpu': str(gpus)}}}


def test_pod_asking_for_all_eight_gpus_sees_all_eight_uuids():
    result = pod_verdict(SUCCEEDED, PLAN, log=LOG)

    assert result['reason'] == 'passed'
    assert sorted(result['uuids_seen']) == sorted(PLAN_UUIDS)
    assert result['message'] == 'hgx-1: nvidia-smi saw the GPUs gpu_facts reported: 8 GPUs'


def test_log_missing_one_of_eight_gpus_is_a_count_mismatch():
    log = ''.join(line for line in LOG.splitlines(True) if PLAN_UUIDS[5] not in line)

    result = pod_verdict(SUCCEEDED, PLAN, log=log)

    assert result['reason'] == 'gpu_count_mismatch'
    assert 'expected 8, nvidia-smi -L listed 7' in result['message']
    assert (result['gpus_expected'], result['gpus_seen']) == (8, 7)


def test_log_with_a_foreign_uuid_among_eight_names_the_missing_and_the_unexpected_gpu():
    log = LOG.replace(PLAN_UUIDS[3], FOREIGN)

    result = pod_verdict(SUCCEEDED, PLAN, log=log)

    assert result['reason'] == 'uuid_mismatch'
    assert 'missing {0}, unexpected {1}'.format(PLAN_UUIDS[3], FOREIGN) in result['message']


def test_a_gpu_listed_twice_does_not_stand_in_for_a_missing_one():
    # Eight lines but seven GPUs: a repeated UUID does not stand in for the one that is missing.
    log = LOG.replace(PLAN_UUIDS[7], PLAN_UUIDS[6])

    result = pod_verdict(SUCCEEDED, PLAN, log=log)

    assert result['reason'] == 'uuid_mismatch'
    assert 'missing ' + PLAN_UUIDS[7] in result['message']


def test_time_slicing_x2_on_eight_gpus_expects_sixteen_advertised():
    report = capacity_report([node(16)], [PLAN], replicas=2)

    assert report['ok']
    assert report['nodes'] == [{'node': 'hgx-1', 'gpu_count': 8, 'replicas': 2, 'expected': 16, 'advertised': 16}]


def test_time_slicing_short_of_one_gpu_says_what_the_count_should_be():
    report = capacity_report([node(14)], [PLAN], replicas=2)

    assert not report['ok']
    assert report['message'] == 'hgx-1: nvidia.com/gpu 14 expected 16 = 8 GPUs x 2 replicas (count differs)'


def test_summary_shows_the_shared_count_next_to_the_gpus_seen():
    counted = capacity_report([node(16)], [PLAN], replicas=2)['nodes'][0]
    verdict = pod_verdict(SUCCEEDED, PLAN, log=LOG)
    row = {'node': 'hgx-1', 'gpus': '{0}/{1}'.format(verdict['gpus_seen'], PLAN['gpu_count']),
           'gpu_count': PLAN['gpu_count'], 'advertised': counted['advertised'], 'sharing': 'time-slicing',
           'replicas': counted['replicas'], 'result': verdict['reason']}

    lines = summary_table([row])

    assert lines[2].startswith('hgx-1  8/8 (16 advertised, time-slicing x2)  ')
    assert lines[2].split()[-1] == 'passed'
    assert lines[0].index('VALIDATION') == lines[2].index('passed')


@pytest.mark.parametrize('args, cell', [
    (('8/8',), '8/8'),
    (('8/8', 8, 8), '8/8 (8 advertised)'),
    (('8/8', 8, 7), '8/8 (7 advertised, 8 expected)'),
    (('8/8', 8, 16, 'time-slicing', 2), '8/8 (16 advertised, time-slicing x2)'),
    (('8/8', 8, 14, 'time-slicing', 2), '8/8 (14 advertised, 16 expected, time-slicing x2)'),
    (('8/8', 8, '24', 'mps', '3'), '8/8 (24 advertised, mps x3)'),
    (('8/8', 8, None, 'time-slicing', 2), '8/8 (advertised count unknown, time-slicing x2)'),
    # Sharing named but one replica: nothing is shared, the count is the plain one.
    (('8/8', 8, 8, 'time-slicing', 1), '8/8 (8 advertised)'),
    (('8/8', 8, 16, 'none', 2), '8/8 (16 advertised, 8 expected)'),
    ((None,), '-'),
])
def test_gpus_cell(args, cell):
    assert gpus_cell(*args) == cell


def test_rows_without_the_sharing_keys_print_as_before():
    lines = summary_table([{'node': 'gpu-a', 'gpus': '1/1', 'result': 'passed'}])

    assert lines[2].split() == ['gpu-a', '1/1', '-', '-', '-', '-', 'passed']

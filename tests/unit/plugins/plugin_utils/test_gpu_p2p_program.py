# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/gpu/p2p.cu, the peer-to-peer check of a multi-GPU host, read as source (no nvcc here).

A checker reads the program's last line: ``p2p: PASSED`` or ``p2p: FAILED <why>``.
These tests hold the source to that: every way out of main prints one of the two
just before it returns, the pass line is a line of its own that no failure line
contains, one GPU passes with "no pair", and no CUDA call's error is dropped.
"""
from __future__ import annotations

import pathlib
import re

import pytest

SOURCE = (pathlib.Path(__file__).parents[4] / 'tests' / 'gpu' / 'p2p.cu').read_text()
PASSED = 'p2p: PASSED'
FAILED = 'p2p: FAILED '
# printf("...") with the format's escapes as printed; the statement's end, then what follows it.
_PRINTF = re.compile(r'printf\("((?:[^"\\]|\\.)*)"[^;]*\);')
_EXIT = re.compile(r'printf\("((?:[^"\\]|\\.)*)"[^;]*\);\s*return\s+(\d+);')


def _formats(text):
    return [fmt.encode().decode('unicode_escape') for fmt in _PRINTF.findall(text)]


def _main():
    return SOURCE[SOURCE.index('int main('):]


def test_pass_line_is_a_line_of_its_own_and_no_failure_line_contains_it():
    printed = _formats(SOURCE)

    assert printed.count(PASSED + '\n') == 2  # one GPU, and several
    failures = [line for line in printed if 'FAILED' in line]
    assert failures
    for line in failures:
        assert line.startswith(FAILED) and line.endswith('\n') and line.count('\n') == 1, line
        assert 'PASSED' not in line, line


def test_every_return_from_main_prints_the_verdict_line_first():
    body = _main()
    returns = re.findall(r'\breturn\s+\d+;', body)
    # The CHECK macro's return is the same shape: a failure line, then return 1.
    exits = _EXIT.findall(body) + _EXIT.findall(SOURCE[SOURCE.index('#define CHECK'):SOURCE.index('static')])

    assert len(_EXIT.findall(body)) == len(returns)
    for fmt, code in exits:
        if code == '0':
            assert fmt == PASSED + '\\n', fmt
        else:
            assert fmt.startswith(FAILED), fmt


def test_one_gpu_says_there_is_no_pair_and_passes_before_any_buffer_is_made():
    body = _main()
    one_gpu = body[body.index('if (count < 2)'):body.index('cudaMalloc')]

    assert 'no pair to check' in one_gpu
    assert re.search(r'printf\("p2p: PASSED\\n"\);\s*return 0;', one_gpu)
    # No GPU at all is not a pass.
    assert re.search(r'if \(count == 0\) \{\s*printf\("p2p: FAILED [^"]*"\);\s*return 1;', one_gpu)


@pytest.mark.parametrize('call', ['cudaDeviceCanAccessPeer', 'cudaMemcpyPeerAsync', 'cudaEventElapsedTime',
                                  'cudaDeviceEnablePeerAccess'])
def test_each_pair_is_asked_for_peer_access_copied_and_timed(call):
    loop = _main()[_main().index('for (int src = 0;'):]
    assert call + '(' in loop


def test_no_cuda_call_drops_its_error():
    # Each call of the CUDA runtime is inside CHECK(...) or its result is kept in a variable that is checked.
    calls = re.finditer(r'(\w+\s*\(\s*|=\s*)?\b(cuda[A-Z]\w*)\(', SOURCE)
    unchecked = []
    for match in calls:
        before, name = match.group(1) or '', match.group(2)
        if name == 'cudaGetErrorString' or before.startswith('CHECK') or before.startswith('='):
            continue
        unchecked.append(name)
    assert unchecked == []
    # What was kept is checked: the error of the peer enable and of the host read-back reach CHECK.
    assert 'CHECK(e);' in SOURCE


def test_size_argument_is_bounded_and_its_error_names_it():
    assert 'mib < 1 || mib > 65536' in SOURCE
    assert any(line.startswith(FAILED + 'the size %s') for line in _formats(SOURCE))

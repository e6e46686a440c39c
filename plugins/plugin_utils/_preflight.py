# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a node's ``ansible_facts.nvidia`` into the preflight verdict and report.

Pure: facts in, verdict out. The gpu_facts module decides what each finding
is and how severe; this decides which findings stop the run on this host.
"""

from __future__ import annotations

from ansible_collections.kubegpu.nvidia.plugins.module_utils._gpu.findings import NO_GPU, NO_GPU_NEXT

SEVERITIES = ('blocker', 'warning', 'info')


class PreflightInputError(ValueError):
    """The facts do not look like gpu_facts output."""


def _summary_lines(facts):
    driver = facts.get('driver') or {}
    lines = []
    count = facts.get('gpu_count') or 0
    if count:
        names = sorted({(g.get('name') or g.get('device_id') or 'unknown') for g in facts.get('gpus') or []})
        lines.append('GPUs: {0} ({1})'.format(count, ', '.join(str(n) for n in names)))
    else:
        lines.append('GPUs: none (no NVIDIA GPU on the PCI bus)')
    if driver.get('loaded'):
        lines.append('Driver: {0} ({1} kernel module) loaded'.format(
            driver.get('version') or 'unknown version', driver.get('kernel_module_type') or 'unknown'))
    elif driver.get('installed_not_loaded'):
        lines.append('Driver: installed but not loaded')
    else:
        lines.append('Driver: not loaded')
    root = (facts.get('driver_root') or {}).get('root')
    if root:
        lines.append('Driver root: {0}'.format(root))
    runtimes = facts.get('runtimes') or {}
    found = []
    for name in ('containerd', 'crio'):
        info = runtimes.get(name) or {}
        if info.get('installed'):
            text = name + (' ' + info['version'] if info.get('version') else '')
            if name == 'containerd' and info.get('config_version') is not None:
                text += ' (config version {0})'.format(info['config_version'])
            found.append(text)
    lines.append('Container runtimes: ' + (', '.join(found) if found else 'none installed'))
    return lines


def assess(facts, ignore=(), strict=False, require_gpu=False):
    """Return the verdict for one host.

    ``failures`` are the findings that stop the run: blockers, and warnings
    too when ``strict``; ids in ``ignore`` never stop it but stay in the report.
    """
    if not isinstance(facts, dict) or 'findings' not in facts or 'gpu_count' not in facts:
        raise PreflightInputError(
            'preflight needs the facts of kubegpu.nvidia.gpu_facts (ansible_facts.nvidia with gpu_count and findings); '
            'run that module first')
    findings = []
    for finding in facts.get('findings') or []:
        severity = finding.get('severity')
        if severity not in SEVERITIES:
            raise PreflightInputError('finding {0!r} has unknown severity {1!r}; expected one of {2}'.format(
                finding.get('id'), severity, ', '.join(SEVERITIES)))
        findings.append(dict(finding, ignored=finding.get('id') in ignore))
    if require_gpu and not facts.get('gpu_count'):
        findings.append({
            'id': 'gpu_required', 'severity': 'blocker', 'ignored': False,
            'message': NO_GPU + ', and preflight_require_gpu is true.',
            'fix': 'To prepare GPU machines, ' + NO_GPU_NEXT + ' Or set preflight_require_gpu: false.',
        })
    stopping = ('blocker', 'warning') if strict else ('blocker',)
    failures = [f for f in findings if f['severity'] in stopping and not f['ignored']]
    order = {s: i for i, s in enumerate(SEVERITIES)}
    lines = _summary_lines(facts)
    for f in sorted(findings, key=lambda f: order[f['severity']]):
        tag = f['severity'].upper() + (' (ignored)' if f['ignored'] else '')
        text = '{0} [{1}] {2}'.format(tag, f.get('id'), f.get('message') or '')
        if f.get('fix'):
            # An info finding needs no fix; what it gives is the next step.
            text += (' Next: ' if f['severity'] == 'info' else ' Fix: ') + f['fix']
        lines.append(text)
    return {
        'ok': not failures,
        'failures': failures,
        'findings': findings,
        'report': lines,
        'message': ' | '.join(
            '{0}: {1}{2}'.format(f.get('id'), f.get('message') or '', (' Fix: ' + f['fix']) if f.get('fix') else '')
            for f in failures),
    }

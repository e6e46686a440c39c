# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nvidia_driver_plan and nvidia_driver_dkms_failure filters (documentation in their .yml files)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubegpu.nvidia.plugins.plugin_utils._driver import (
    DriverPlanError,
    dkms_failure_summary,
    plan_driver,
)


def nvidia_driver_plan(facts, **options):
    try:
        return plan_driver(facts, **options)
    except DriverPlanError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    except TypeError as exc:
        raise AnsibleFilterError('nvidia_driver_plan: {0}'.format(exc)) from exc


def nvidia_driver_dkms_failure(log_text, package='', kernel_release=''):
    return dkms_failure_summary(log_text, package=package, kernel_release=kernel_release)


class FilterModule:
    def filters(self):
        return {
            'nvidia_driver_plan': nvidia_driver_plan,
            'nvidia_driver_dkms_failure': nvidia_driver_dkms_failure,
        }

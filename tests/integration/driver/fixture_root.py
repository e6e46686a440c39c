# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a fixture root tree that gpu_facts reads with ``root:``.

    fixture_root.py ROOT JSON

JSON describes the host: ``os`` (id, version_id, id_like), ``kernel``,
``gpus`` and ``nvswitches`` (address, device, driver), ``loaded`` (version,
open) and ``secure_boot``. The layout is the kernel's, as in tests/unit's
FakeRoot: device directories under /sys/devices, linked from
/sys/bus/pci/devices, a ``driver`` link per bound device.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

SECURE_BOOT_GUID = '8be4df61-93ca-11d2-aa0d-e0a9e5b8cf8c'
EFI_ATTRIBUTES = b'\x06\x00\x00\x00'


def write(root, path, content):
    target = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, 'wb') as handle:
        handle.write(content if isinstance(content, bytes) else content.encode())


def link(root, path, target):
    name = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(name), exist_ok=True)
    os.symlink(target, name)


def pci_device(root, device, pci_class):
    address = device['address']
    directory = '/sys/devices/pci0000:00/' + address
    for name, value in (('vendor', '0x10de'), ('device', device['device']), ('class', pci_class),
                        ('subsystem_vendor', '0x10de'), ('subsystem_device', '0x0000'), ('numa_node', '0')):
        write(root, '{0}/{1}'.format(directory, name), value + '\n')
    link(root, '/sys/bus/pci/devices/' + address, '../../../devices/pci0000:00/' + address)
    if device.get('driver'):
        os.makedirs(os.path.join(root, 'sys/bus/pci/drivers', device['driver']), exist_ok=True)
        link(root, directory + '/driver', '../../../bus/pci/drivers/' + device['driver'])


def build(root, host):
    shutil.rmtree(root, ignore_errors=True)
    os_info = host['os']
    text = 'ID={0}\nVERSION_ID="{1}"\n'.format(os_info['id'], os_info['version_id'])
    if os_info.get('id_like'):
        text += 'ID_LIKE="{0}"\n'.format(os_info['id_like'])
    write(root, '/etc/os-release', text)
    write(root, '/proc/sys/kernel/osrelease', host['kernel'] + '\n')
    os.makedirs(os.path.join(root, 'lib/modules', host['kernel'], 'kernel'), exist_ok=True)
    os.makedirs(os.path.join(root, 'sys/firmware/efi/efivars'), exist_ok=True)
    write(root, '/sys/firmware/efi/efivars/SetupMode-' + SECURE_BOOT_GUID, EFI_ATTRIBUTES + b'\x00')
    write(root, '/sys/firmware/efi/efivars/SecureBoot-' + SECURE_BOOT_GUID,
          EFI_ATTRIBUTES + (b'\x01' if host.get('secure_boot') else b'\x00'))
    for gpu in host.get('gpus') or []:
        pci_device(root, gpu, '0x030200')
    for switch in host.get('nvswitches') or []:
        pci_device(root, switch, '0x068000')
    loaded = host.get('loaded')
    if loaded:
        os.makedirs(os.path.join(root, 'sys/module/nvidia'), exist_ok=True)
        write(root, '/sys/module/nvidia/version', loaded['version'] + '\n')
        if loaded.get('open', True):
            line = 'NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  {0}  Release Build  (b@)  \n'
        else:
            line = 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  {0}  Thu Feb 22 01:44:30 UTC 2024\n'
        write(root, '/proc/driver/nvidia/version', line.format(loaded['version']))


def main(argv):
    if len(argv) != 3:
        sys.stderr.write('usage: fixture_root.py ROOT JSON\n')
        return 2
    build(argv[1], json.loads(argv[2]))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

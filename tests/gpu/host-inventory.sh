#!/usr/bin/env bash
# What a GPU host's driver installation consists of (device nodes, libraries,
# binaries, firmware, sockets): the facts the CDI spec is built from.
#   tests/gpu/host-inventory.sh > inventory.txt
# The listings are for a person to read, not parsed: ls is the point here.
# shellcheck disable=SC2010,SC2012
set -u
section() { printf '\n### %s\n' "$*"; }
section "nvidia-smi, ldconfig"; command -v nvidia-smi; ls -la "$(command -v nvidia-smi)"
ldconfig -p | grep -iE 'nvidia|libcuda|nvcuvid|nvoptix' | sort
section "device nodes"; ls -la /dev/nvidia* /dev/nvidia-caps 2>&1; ls -la /dev/dri 2>&1 | head
section "driver library dirs"
for d in $(ldconfig -p | grep -E 'libnvidia-ml|libcuda\.so' | awk '{print $NF}' | xargs -n1 dirname | sort -u); do
  echo "-- $d"; ls -la "$d" | grep -iE 'nvidia|cuda|nvcuvid|vdpau|egl|glx|gles|vulkan' ; done
section "binaries next to nvidia-smi"; ls -la "$(dirname "$(readlink -f "$(command -v nvidia-smi)")")" | grep -iE 'nvidia' 
section "firmware"; ls -la /lib/firmware/nvidia 2>&1 | head; ls -la /lib/firmware/nvidia/* 2>&1 | head -20
section "sockets"; ls -la /run/nvidia-persistenced /run/nvidia-fabricmanager /tmp/nvidia-mps 2>&1
section "mounts mentioning nvidia"; grep -i nvidia /proc/mounts
section "proc driver"; cat /proc/driver/nvidia/version; ls /proc/driver/nvidia/gpus/; cat /proc/driver/nvidia/gpus/*/information
section "sysfs module"; cat /sys/module/nvidia/version 2>&1; ls /sys/module | grep -iE 'nvidia|nouveau'
section "efi"; ls /sys/firmware/efi/efivars 2>&1 | grep -i SecureBoot; ls -d /sys/firmware/efi 2>&1
section "kernel headers"; uname -r; ls -la /lib/modules/"$(uname -r)"/ 2>&1 | head
section "os"; cat /etc/os-release
section "vulkan/egl icd"; find / -xdev \( -name 'nvidia_icd*.json' -o -name '10_nvidia*.json' -o -name 'nvidia_layers.json' \) 2>/dev/null

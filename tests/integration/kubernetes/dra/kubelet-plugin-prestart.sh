#!/usr/bin/env bash
# The init container of NVIDIA's DRA driver's kubelet plugin (the chart runs
# `bash /usr/bin/kubelet-plugin-prestart.sh`): wait until the NVIDIA driver is
# usable under the driver root the chart mounts at /driver-root-parent, and say
# in the log what is missing meanwhile. It leaves with 0 once nvidia-smi runs.
root=${NVIDIA_DRIVER_ROOT:-/}
base=$(basename "${root%/}")
top=/driver-root-parent/${base}
# The places a driver installation keeps nvidia-smi and libnvidia-ml.so.1
# (distribution packages, NVIDIA's .run installer, a driver container).
bins=(bin sbin usr/bin usr/sbin)
libs=(lib64 lib lib/x86_64-linux-gnu lib/aarch64-linux-gnu usr/lib64 usr/lib/x86_64-linux-gnu usr/lib/aarch64-linux-gnu)
trap 'echo "stopped (SIGTERM)"; exit 0' TERM
attempt=0
while :; do
    smi="" nvml=""
    for dir in "${bins[@]}"; do [ -f "$top/$dir/nvidia-smi" ] && { smi=$top/$dir/nvidia-smi; break; }; done
    # Also where the root's loader configuration points (a driver installed under its own prefix).
    extra=()
    for conf in "$top"/etc/ld.so.conf.d/*.conf; do
        [ -f "$conf" ] || continue
        while read -r dir _; do case $dir in /*) extra+=("${dir#/}") ;; esac; done <"$conf"
    done
    for dir in "${libs[@]}" "${extra[@]}"; do [ -e "$top/$dir/libnvidia-ml.so.1" ] && { nvml=$top/$dir/libnvidia-ml.so.1; break; }; done
    if [ -n "$smi" ] && [ -n "$nvml" ]; then
        if env -i LD_PRELOAD="$nvml" "$smi" -L; then
            echo "driver ready under $root on the host: $smi, $nvml"
            exit 0
        fi
        echo "nvidia-smi under $root failed (exit $?): the driver is installed but not usable"
    elif [ $((attempt % 6)) -eq 0 ]; then
        echo "waiting for the NVIDIA driver under $root on the host (nvidiaDriverRoot):" \
            "nvidia-smi ${smi:-not found}, libnvidia-ml.so.1 ${nvml:-not found}" \
            "(looked in ${bins[*]} and ${libs[*]} there)"
    fi
    attempt=$((attempt + 1))
    sleep 10
done

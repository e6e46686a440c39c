#!/usr/bin/env bash
# Binaries test_cdi_cri_fake_gpu.py runs (containerd 1.7.24, runc, a minimal glibc root),
# fetched once into .cache/cdi-e2e by the same script that prepares the real-GPU run.
exec "$(dirname "$0")/../../gpu/prepare.sh" ci

# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings: what the gathered GPU facts mean for the next stages.

Private to this collection. compute_findings() is a pure function of the facts
dict that gpu_facts returns; it reads nothing. The ids and severities are a
public contract (the preflight role keys on them):

blocker  the GPU stack cannot work until someone acts
warning  it will not work as is, but the roles of this collection handle it
         or the node is degraded
info     worth knowing, nothing to do
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

BLOCKER = "blocker"
WARNING = "warning"
INFO = "info"

SEVERITIES = (BLOCKER, WARNING, INFO)

FABRIC_MANAGER_UNIT = "nvidia-fabricmanager.service"

# A host without a GPU, in one place: the no_gpu finding says it, and preflight's
# gpu_required refusal (preflight_require_gpu) repeats these words with its own way out.
NO_GPU = "This host has no NVIDIA GPU on its PCI bus"
NO_GPU_NEXT = (
    "list your GPU nodes under gpu_nodes in an inventory, see inventory/sample/hosts.yml in the collection, "
    "and run with -i that inventory."
)

FINDING_IDS = (
    "no_gpu",
    "nouveau_loaded",
    "nouveau_not_blacklisted",
    "secure_boot_unsigned_modules",
    "kernel_headers_missing",
    "gpu_not_bound",
    "driver_installed_not_loaded",
    "driver_library_mismatch",
    "nvswitch_fabric_manager_missing",
    "nvswitch_fabric_manager_inactive",
    "containerd_config_version",
    "mig_pending_change",
    "nvidia_smi_failed",
    "read_errors",
)

_CONTAINERD_GENERATION = {
    1: "the legacy format of containerd 1.x, which containerd 2.x no longer reads",
    2: "containerd 1.x; containerd 2.x migrates it at start",
    3: "containerd 2.x",
}


def _finding(finding_id, severity, message, fix):
    return {"id": finding_id, "severity": severity, "message": message, "fix": fix}


def _gpu_label(gpu):
    name = gpu.get("name") or gpu.get("device_id") or "GPU"
    return "%s at %s" % (name, gpu.get("pci_address") or "an unknown PCI address")


def _headers_package(facts):
    release = (facts.get("kernel") or {}).get("release") or "$(uname -r)"
    family = (facts.get("os") or {}).get("family")
    if family == "redhat":
        return "kernel-devel-%s" % release
    if family == "suse":
        return "kernel-default-devel"
    if family == "debian":
        return "linux-headers-%s" % release
    return "linux-headers-%s (Debian/Ubuntu) or kernel-devel-%s (RHEL family)" % (release, release)


def _fabric_manager_inactive(facts, loaded):
    """An NVSwitch host with the driver loaded whose installed Fabric Manager the node says is not running."""
    fabric_manager = facts.get("fabric_manager") or {}
    state = fabric_manager.get("active_state")
    if not (loaded and facts.get("nvswitch_count") and fabric_manager.get("installed")) or state in (None, "active"):
        return []
    return [
        _finding(
            "nvswitch_fabric_manager_inactive",
            BLOCKER,
            "%d NVSwitch devices are present and NVIDIA Fabric Manager is installed but %s is %s:"
            " CUDA on these GPUs fails until it runs." % (facts["nvswitch_count"], FABRIC_MANAGER_UNIT, state),
            "Start it (systemctl enable --now %s); if it stops again, read journalctl -u %s: its branch must"
            " match the driver's." % (FABRIC_MANAGER_UNIT, FABRIC_MANAGER_UNIT),
        )
    ]


def compute_findings(facts):
    """Return the list of findings ({id, severity, message, fix}) for a facts dict."""
    findings = []
    gpus = facts.get("gpus") or []
    driver = facts.get("driver") or {}
    loaded = bool(driver.get("loaded"))
    nouveau = facts.get("nouveau") or {}
    kernel = facts.get("kernel") or {}

    if not gpus:
        findings.append(
            _finding(
                "no_gpu",
                INFO,
                NO_GPU + ", so it needs no NVIDIA driver or runtime setup.",
                NO_GPU_NEXT,
            )
        )

    if gpus and nouveau.get("loaded"):
        findings.append(
            _finding(
                "nouveau_loaded",
                WARNING,
                "nouveau is loaded: the driver role will blacklist it and reboot.",
                "Let the driver role run, or blacklist nouveau in /etc/modprobe.d, rebuild the initramfs and reboot.",
            )
        )

    if gpus and not loaded and not nouveau.get("blacklisted"):
        findings.append(
            _finding(
                "nouveau_not_blacklisted",
                INFO,
                "nouveau is not blacklisted, so it can claim the GPU at the next boot before the NVIDIA driver does.",
                "The driver role writes 'blacklist nouveau' and 'options nouveau modeset=0' to /etc/modprobe.d;"
                " nothing to do by hand.",
            )
        )

    secure_boot = facts.get("secure_boot") or {}
    if gpus and not loaded and secure_boot.get("enabled") is True:
        findings.append(
            _finding(
                "secure_boot_unsigned_modules",
                BLOCKER,
                "Secure Boot is enabled and the NVIDIA kernel module is not loaded: a module built on this node"
                " (DKMS) is unsigned and the kernel will refuse to load it.",
                "Enroll a Machine Owner Key (mokutil --import <key.der>, confirm at the next boot) and sign the"
                " module with it, or install signed precompiled modules (on Ubuntu"
                " linux-modules-nvidia-<branch>-server-<flavour>), or disable Secure Boot in the firmware.",
            )
        )

    if gpus and not loaded and kernel.get("release") and kernel.get("headers_installed") is False:
        package = _headers_package(facts)
        findings.append(
            _finding(
                "kernel_headers_missing",
                WARNING,
                "The headers for the running kernel %s are not installed, so the NVIDIA module cannot be built"
                " for it." % kernel["release"],
                "Install %s (the driver role does so), or use precompiled modules for this kernel." % package,
            )
        )

    unbound = [g for g in gpus if g.get("driver") != "nvidia"]
    if unbound:
        described = ", ".join(
            "%s (bound to %s)" % (_gpu_label(g), g["driver"]) if g.get("driver") else "%s (no driver)" % _gpu_label(g)
            for g in unbound
        )
        findings.append(
            _finding(
                "gpu_not_bound",
                WARNING,
                "%d of %d GPUs are not bound to the nvidia driver: %s." % (len(unbound), len(gpus), described),
                "Install and load the NVIDIA driver (the driver role); a GPU bound to vfio-pci is reserved for"
                " passthrough and must be unbound from it first.",
            )
        )

    if gpus and driver.get("installed_not_loaded"):
        findings.append(
            _finding(
                "driver_installed_not_loaded",
                WARNING,
                "The NVIDIA kernel module is installed at %s but not loaded."
                % (driver.get("module_path") or "an unknown path"),
                "Reboot the node, or run 'modprobe nvidia' and read dmesg if it fails.",
            )
        )

    library = facts.get("driver_root") or {}
    if loaded and driver.get("version") and library.get("nvml_version") and (
        library["nvml_version"] != driver["version"]
    ):
        findings.append(
            _finding(
                "driver_library_mismatch",
                BLOCKER,
                "The loaded NVIDIA kernel module is %s but libnvidia-ml in %s is %s:"
                ' "Failed to initialize NVML: Driver/library version mismatch" will follow.'
                % (driver["version"], library.get("library_dir"), library["nvml_version"]),
                "Reboot the node, or unload and reload the module (rmmod nvidia_uvm nvidia_drm nvidia_modeset"
                " nvidia; modprobe nvidia) once nothing uses the GPU.",
            )
        )

    fabric_manager = facts.get("fabric_manager") or {}
    if facts.get("nvswitch_count") and loaded and not fabric_manager.get("installed"):
        branch = (driver.get("version") or "").split(".")[0] or "<branch>"
        findings.append(
            _finding(
                "nvswitch_fabric_manager_missing",
                BLOCKER,
                "%d NVSwitch devices are present but NVIDIA Fabric Manager is not installed: CUDA on these GPUs"
                " fails until it runs." % facts["nvswitch_count"],
                "Install nvidia-fabricmanager-%s (the same branch as the driver) and enable"
                " nvidia-fabricmanager.service." % branch,
            )
        )

    findings.extend(_fabric_manager_inactive(facts, loaded))

    containerd = (facts.get("runtimes") or {}).get("containerd") or {}
    if containerd.get("installed") or containerd.get("config_exists"):
        version = containerd.get("config_version")
        if containerd.get("config_exists"):
            message = "containerd config %s is version %s (%s)." % (
                containerd.get("config_path"),
                version,
                _CONTAINERD_GENERATION.get(version, "a version this collection does not know"),
            )
        else:
            message = "containerd has no config file at %s, so its built-in defaults (version 2) apply." % (
                containerd.get("config_path")
            )
        findings.append(
            _finding(
                "containerd_config_version",
                INFO,
                message,
                "No action is needed; the container_runtime role edits the config in its own schema version.",
            )
        )

    mig = facts.get("mig") or {}
    if mig.get("pending_change_gpus"):
        findings.append(
            _finding(
                "mig_pending_change",
                WARNING,
                "The MIG mode of %s has a pending change that is not active yet."
                % ", ".join(mig["pending_change_gpus"]),
                "Reset the GPU (nvidia-smi -r -i <index>) once nothing uses it, or reboot the node.",
            )
        )

    smi = facts.get("nvidia_smi") or {}
    if smi.get("error"):
        findings.append(
            _finding(
                "nvidia_smi_failed",
                WARNING,
                "nvidia-smi failed: %s" % _sentence(smi["error"]),
                "Check that the NVIDIA driver is loaded and matches its libraries (dmesg, lsmod | grep nvidia),"
                " then gather facts again.",
            )
        )

    errors = facts.get("read_errors") or []
    if errors:
        findings.append(
            _finding(
                "read_errors",
                WARNING,
                "%d file(s) could not be read or understood, so some facts are missing: %s."
                % (len(errors), "; ".join("%s: %s" % (e.get("path"), e.get("reason")) for e in errors)),
                "Check those files' permissions and contents; the other facts are still valid.",
            )
        )

    return findings


def _sentence(text):
    text = (text or "").strip()
    return text if text.endswith((".", "!", "?")) else text + "."

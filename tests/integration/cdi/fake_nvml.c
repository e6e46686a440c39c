/* A stand-in for libnvidia-ml: one function that names the fake GPU.
 * Built as libnvidia-ml.so.<version> with SONAME libnvidia-ml.so.1, like the
 * driver's, so the fake nvidia-smi only runs when the container's loader
 * finds that SONAME (the hook-free layout's job). */
const char *kubegpu_fake_gpu_line(void)
{
    return "GPU 0: Fake NVIDIA GPU (UUID: GPU-00000000-fake-4000-8000-000000000001)";
}

// Vector add on the GPU, checked on the CPU: the smallest real CUDA work.
// Built on the GPU host with the host's nvcc, cudart linked statically, so the
// image needs nothing of CUDA but what the CDI spec mounts (libcuda.so.1).
#include <cstdio>
#include <cmath>
#include <cuda_runtime.h>

__global__ void add(const float *a, const float *b, float *c, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

#define CHECK(call) do { cudaError_t e = (call); if (e != cudaSuccess) { \
    printf("vectoradd: FAILED %s: %s\n", #call, cudaGetErrorString(e)); return 1; } } while (0)

int main()
{
    const int n = 1 << 20;
    const size_t bytes = n * sizeof(float);
    float *a = new float[n], *b = new float[n], *c = new float[n];
    for (int i = 0; i < n; i++) { a[i] = i * 0.5f; b[i] = 2.0f * i; }
    int device = 0;
    cudaDeviceProp prop;
    CHECK(cudaGetDevice(&device));
    CHECK(cudaGetDeviceProperties(&prop, device));
    float *da, *db, *dc;
    CHECK(cudaMalloc(&da, bytes)); CHECK(cudaMalloc(&db, bytes)); CHECK(cudaMalloc(&dc, bytes));
    CHECK(cudaMemcpy(da, a, bytes, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(db, b, bytes, cudaMemcpyHostToDevice));
    add<<<(n + 255) / 256, 256>>>(da, db, dc, n);
    CHECK(cudaGetLastError());
    CHECK(cudaMemcpy(c, dc, bytes, cudaMemcpyDeviceToHost));
    int wrong = 0;
    for (int i = 0; i < n; i++) if (std::fabs(c[i] - 2.5f * i) > 1e-3f * (1 + i)) wrong++;
    printf("vectoradd: %d elements on %s (compute %d.%d): %s\n", n, prop.name, prop.major, prop.minor,
           wrong ? "FAILED" : "PASSED");
    // The last line as NVIDIA's vectorAdd sample prints it, which the validate role reads.
    if (!wrong) printf("Test PASSED\n");
    cudaFree(da); cudaFree(db); cudaFree(dc);
    return wrong ? 1 : 0;
}

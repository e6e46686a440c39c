// Peer-to-peer between every pair of GPUs the process sees: peer access, a copy, its bandwidth.
// Built on the GPU host with the host's nvcc, like vectoradd.cu:
//   nvcc -O2 -cudart static -o p2p tests/gpu/p2p.cu
// Usage: p2p [MiB per copy, default 256]. Run in a pod that asked for all the node's GPUs.
// For each ordered pair (source, destination): cudaDeviceCanAccessPeer, peer access enabled where
// possible, cudaMemcpyPeerAsync of the buffer timed with events, and the copy checked on the host.
// The last line is "p2p: PASSED" or "p2p: FAILED <why>": a pair without peer access, a wrong copy
// or any CUDA error fails. With one GPU there is no pair, and that passes.
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_runtime.h>

#define CHECK(call) do { cudaError_t e = (call); if (e != cudaSuccess) { \
    printf("p2p: FAILED %s: %s\n", #call, cudaGetErrorString(e)); return 1; } } while (0)

static const size_t PROBE = 4096;  // bytes checked at each end of a copied buffer

static unsigned char pattern(int device) { return (unsigned char)(0x10 + device); }

// The first and last PROBE bytes of dst on its device hold the source's pattern.
static int copied_right(const unsigned char *dst, size_t bytes, unsigned char want, std::vector<unsigned char> &host,
                        cudaError_t *error)
{
    *error = cudaMemcpy(host.data(), dst, PROBE, cudaMemcpyDeviceToHost);
    if (*error == cudaSuccess)
        *error = cudaMemcpy(host.data() + PROBE, dst + bytes - PROBE, PROBE, cudaMemcpyDeviceToHost);
    if (*error != cudaSuccess) return 0;
    for (size_t i = 0; i < 2 * PROBE; i++)
        if (host[i] != want) return 0;
    return 1;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 256;
    if (mib < 1 || mib > 65536) {
        printf("p2p: FAILED the size %s is not a number of MiB between 1 and 65536\n", argv[1]);
        return 2;
    }
    const size_t bytes = (size_t)mib << 20;
    int count = 0;
    CHECK(cudaGetDeviceCount(&count));
    for (int d = 0; d < count; d++) {
        cudaDeviceProp prop;
        CHECK(cudaGetDeviceProperties(&prop, d));
        printf("p2p: GPU %d: %s, PCI %04x:%02x:%02x.0\n", d, prop.name, prop.pciDomainID, prop.pciBusID,
               prop.pciDeviceID);
    }
    if (count < 2) {
        printf("p2p: %d GPU, no pair to check\n", count);
        if (count == 0) {
            printf("p2p: FAILED no CUDA device is visible\n");
            return 1;
        }
        printf("p2p: PASSED\n");
        return 0;
    }

    std::vector<unsigned char *> buffers(count, NULL);
    for (int d = 0; d < count; d++) {
        CHECK(cudaSetDevice(d));
        CHECK(cudaMalloc((void **)&buffers[d], bytes));
    }
    std::vector<double> gbps(count * count, 0.0);
    std::vector<int> peer(count * count, 0);
    std::vector<unsigned char> host(2 * PROBE);
    int no_peer = 0, wrong = 0;
    for (int src = 0; src < count; src++) {
        for (int dst = 0; dst < count; dst++) {
            if (src == dst) continue;
            int can = 0;
            CHECK(cudaDeviceCanAccessPeer(&can, src, dst));
            peer[src * count + dst] = can;
            CHECK(cudaSetDevice(src));
            if (can) {
                cudaError_t e = cudaDeviceEnablePeerAccess(dst, 0);
                if (e == cudaErrorPeerAccessAlreadyEnabled) {
                    // Not an error here; read it back so that it is not reported by a later call.
                    e = cudaGetLastError();
                    if (e != cudaErrorPeerAccessAlreadyEnabled) CHECK(e);
                } else {
                    CHECK(e);
                }
            } else {
                no_peer++;
            }
            CHECK(cudaMemset(buffers[src], pattern(src), bytes));
            CHECK(cudaDeviceSynchronize());
            CHECK(cudaSetDevice(dst));
            CHECK(cudaMemset(buffers[dst], 0, bytes));  // so that only this copy can put the pattern there
            CHECK(cudaDeviceSynchronize());
            CHECK(cudaSetDevice(src));
            cudaEvent_t start, stop;
            CHECK(cudaEventCreate(&start));
            CHECK(cudaEventCreate(&stop));
            CHECK(cudaEventRecord(start, 0));
            CHECK(cudaMemcpyPeerAsync(buffers[dst], dst, buffers[src], src, bytes, 0));
            CHECK(cudaEventRecord(stop, 0));
            CHECK(cudaEventSynchronize(stop));
            float ms = 0.0f;
            CHECK(cudaEventElapsedTime(&ms, start, stop));
            CHECK(cudaEventDestroy(start));
            CHECK(cudaEventDestroy(stop));
            gbps[src * count + dst] = ms > 0.0f ? (double)bytes / (ms * 1.0e6) : 0.0;
            CHECK(cudaSetDevice(dst));
            cudaError_t e = cudaSuccess;
            if (!copied_right(buffers[dst], bytes, pattern(src), host, &e)) {
                CHECK(e);
                printf("p2p: GPU %d -> GPU %d: the copy arrived wrong\n", src, dst);
                wrong++;
            }
        }
    }

    printf("p2p: %ld MiB per copy; GB/s, row = source, column = destination, * = no peer access\n", mib);
    printf("p2p: %8s", "");
    for (int dst = 0; dst < count; dst++) printf(" %8s%-2d", "GPU", dst);
    printf("\n");
    for (int src = 0; src < count; src++) {
        printf("p2p: GPU %-4d", src);
        for (int dst = 0; dst < count; dst++) {
            if (src == dst) printf(" %10s", "-");
            else printf(" %9.1f%s", gbps[src * count + dst], peer[src * count + dst] ? " " : "*");
        }
        printf("\n");
    }
    for (int d = 0; d < count; d++) {
        CHECK(cudaSetDevice(d));
        CHECK(cudaFree(buffers[d]));
    }
    int pairs = count * (count - 1);
    if (no_peer || wrong) {
        printf("p2p: FAILED %d of %d pairs without peer access, %d copies wrong\n", no_peer, pairs, wrong);
        return 1;
    }
    printf("p2p: %d GPUs, %d pairs with peer access, every copy right\n", count, pairs);
    printf("p2p: PASSED\n");
    return 0;
}

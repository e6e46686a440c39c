/* A stand-in for nvidia-smi -L: opens the control and GPU device nodes the
 * CDI spec injects, then prints the GPU line from the fake libnvidia-ml.so.1
 * it is linked against. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

const char *kubegpu_fake_gpu_line(void);

int main(void)
{
    const char *nodes[] = {"/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm"};
    for (unsigned i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        int fd = open(nodes[i], O_RDWR);
        if (fd < 0) {
            perror(nodes[i]);
            return 2;
        }
        close(fd);
        printf("opened %s\n", nodes[i]);
    }
    puts(kubegpu_fake_gpu_line());
    return 0;
}

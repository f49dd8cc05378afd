/*
 * Whether hardware virtualisation can run a stock guest here.  A /dev/kvm can
 * exist without it: nested or paravirtual KVM implementations (for instance
 * PVM) accept KVM ioctls but cannot boot an unmodified kernel, and a qemu
 * started with accel=kvm then hangs.  Real KVM needs the CPU's vmx or svm flag.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

bool
hk_kvm_possible(void)
{
    const char *force = getenv("H2K_ACCEL");
    if (force && strcmp(force, "tcg") == 0)
        return false;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    char line[4096];
    bool flag = false;
    while (!flag && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        flag = strstr(line, " vmx") || strstr(line, " svm");
    }
    fclose(f);
    return flag;
}

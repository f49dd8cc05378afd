/*
 * How many CPUs this process may run on: what sizes the vCPUs of the guests
 * we start under emulation, where qemu runs one thread per vCPU.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>

#include "internal.h"

long
hk_host_cpus(void)
{
    cpu_set_t set;
    /* the affinity mask, not the machine: a container or a taskset may
       give us fewer CPUs than the host has */
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

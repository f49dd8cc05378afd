/*
 * Choosing the accelerator.  /dev/kvm opening fine is not enough: some hosts
 * (nested set-ups) expose a KVM that creates VMs and even runs a little
 * real-mode code, but never gets a Linux kernel through its start-up; a boot
 * test there would hang until its timeout.  So the check boots the host's own
 * kernel (from /boot) under KVM without a root file system and waits for its
 * "Kernel panic" on the serial port: a working KVM gets there in a second or
 * two.  Without a readable kernel, a one-sector disk that writes "K" to the
 * serial port is booted instead (a weaker check).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot_internal.h"

#define KERNEL_PROBE_SECONDS 12.0
#define SECTOR_PROBE_SECONDS 5.0

/* mov dx,0x3f8; mov al,'K'; out dx,al; mov al,10; out dx,al; cli; hlt; jmp $-1 */
static const unsigned char boot_code[] = {0xba, 0xf8, 0x03, 0xb0, 'K',  0xee, 0xb0,
                                          0x0a, 0xee, 0xfa, 0xf4, 0xeb, 0xfd};

/* A readable /boot/vmlinuz-* (caller frees), or NULL. */
static char *
host_kernel(void)
{
    DIR *d = opendir("/boot");
    if (!d)
        return NULL;
    char *found = NULL;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "vmlinuz-", 8) != 0)
            continue;
        char *p = hk_path_join("/boot", e->d_name);
        if (p && access(p, R_OK) == 0)
            found = p;
        else
            free(p);
    }
    closedir(d);
    return found;
}

/* True once @log contains @needle (the log is small: the first 256 KiB). */
static bool
log_has(const char *log, const char *needle)
{
    int fd = open(log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    enum {
        LOG_MAX = 256 * 1024
    };
    char *buf = malloc(LOG_MAX + 1); /* not static: boot tests run on several threads */
    if (!buf) {
        close(fd);
        return false;
    }
    ssize_t n = read(fd, buf, LOG_MAX);
    close(fd);
    if (n <= 0) {
        free(buf);
        return false;
    }
    buf[n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    bool found = strstr(buf, needle) != NULL;
    free(buf);
    return found;
}

static bool
run_probe(h2k_ctx *ctx)
{
    /* the cheap checks first (/dev/kvm, the CPU's vmx/svm flag, H2K_ACCEL=tcg) */
    if (!hk_kvm_possible()) {
        hk_info(ctx, "test", "KVM is not available here (or H2K_ACCEL=tcg): using TCG");
        return false;
    }
    bool ok = false;
    char *dir = hk_path_join(h2k_ctx_tmpdir(ctx), "h2k-kvm-XXXXXX");
    char *disk = NULL, *log = NULL, *kernel = host_kernel();
    char *drive = NULL, *serial = NULL;
    pid_t pid = -1;
    FILE *f = NULL;
    if (!dir || !mkdtemp(dir)) {
        free(dir);
        dir = NULL;
        goto done;
    }
    disk = hk_path_join(dir, "boot.img");
    log = hk_path_join(dir, "serial.log");
    if (!disk || !log)
        goto done;
    f = fopen(log, "we");
    if (!f || fclose(f) != 0)
        goto done;
    char *l = hk_qemu_opt_escape(log);
    serial = l ? hk_asprintf("file,id=serial0,path=%s", l) : NULL;
    free(l);
    if (!serial)
        goto done;
    const char *needle;
    double budget;
    if (kernel) {
        /* no initrd, no root: the kernel panics (and qemu exits) once it is up */
        const char *argv[] = {"qemu-system-x86_64",
                              "-machine",
                              "pc,accel=kvm",
                              "-cpu",
                              "host",
                              "-m",
                              "256",
                              "-nodefaults",
                              "-no-user-config",
                              "-display",
                              "none",
                              "-no-reboot",
                              "-chardev",
                              serial,
                              "-serial",
                              "chardev:serial0",
                              "-kernel",
                              kernel,
                              "-append",
                              "console=ttyS0 panic=-1",
                              NULL};
        needle = "Kernel panic";
        budget = KERNEL_PROBE_SECONDS;
        if (hk_proc_spawn(ctx, argv, NULL, &pid) < 0)
            pid = -1;
    } else {
        unsigned char sector[512] = {0};
        memcpy(sector, boot_code, sizeof(boot_code));
        sector[510] = 0x55;
        sector[511] = 0xaa;
        f = fopen(disk, "wbe");
        if (!f)
            goto done;
        bool written = fwrite(sector, 1, sizeof(sector), f) == sizeof(sector);
        if (fclose(f) != 0 || !written)
            goto done;
        char *d = hk_qemu_opt_escape(disk);
        drive = d ? hk_asprintf("file=%s,format=raw,if=ide,snapshot=on", d) : NULL;
        free(d);
        if (!drive)
            goto done;
        const char *argv[] = {
            "qemu-system-x86_64", "-machine", "pc,accel=kvm", "-m",       "16",   "-nodefaults",
            "-no-user-config",    "-display", "none",         "-chardev", serial, "-serial",
            "chardev:serial0",    "-drive",   drive,          NULL};
        needle = "K";
        budget = SECTOR_PROBE_SECONDS;
        if (hk_proc_spawn(ctx, argv, NULL, &pid) < 0)
            pid = -1;
    }
    if (pid < 0) {
        h2k_ctx_clear_error(ctx);
        goto done;
    }
    double end = hk_now() + budget;
    while (!ok && hk_now() < end) {
        ok = log_has(log, needle);
        if (!ok && hk_proc_exited(pid, NULL)) {
            ok = log_has(log, needle);
            break;
        }
        if (!ok)
            usleep(100 * 1000);
    }
done:
    if (pid > 0)
        hk_proc_stop(pid, 1000);
    if (disk)
        unlink(disk);
    if (log)
        unlink(log);
    if (dir)
        rmdir(dir);
    free(disk);
    free(log);
    free(dir);
    free(drive);
    free(serial);
    hk_info(ctx, "test", "KVM %s (checked with %s)",
            ok ? "runs guests: using it" : "cannot run a guest here: using TCG",
            kernel ? kernel : "a boot sector");
    free(kernel);
    return ok;
}

bool
hk_kvm_usable(h2k_ctx *ctx)
{
    /* the answer is kept in the context (no process-wide state): a context
       probes at most once */
    int s = hk_ctx_kvm_state(ctx);
    if (s == 0) {
        s = run_probe(ctx) ? 1 : 2;
        hk_ctx_set_kvm_state(ctx, s);
    }
    return s == 1;
}

const char *
hk_boot_accel_name(h2k_ctx *ctx, h2k_boot_accel accel)
{
    if (accel == H2K_ACCEL_KVM)
        return "kvm";
    if (accel == H2K_ACCEL_TCG)
        return "tcg";
    return hk_kvm_usable(ctx) ? "kvm" : "tcg";
}

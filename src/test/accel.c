/*
 * Choosing the accelerator.  /dev/kvm opening fine is not enough: some hosts
 * (nested set-ups) expose a KVM that never runs a real guest, and a boot test
 * there would hang until its timeout.  So the check boots a one-sector disk
 * that writes "K" to the serial port, under KVM, and waits a few seconds.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot_internal.h"

#define PROBE_SECONDS 5.0

static atomic_int kvm_state; /* 0 unknown, 1 usable, 2 not usable */

/* mov dx,0x3f8; mov al,'K'; out dx,al; mov al,10; out dx,al; cli; hlt; jmp $-1 */
static const unsigned char boot_code[] = { 0xba, 0xf8, 0x03, 0xb0, 'K',  0xee, 0xb0,
                                           0x0a, 0xee, 0xfa, 0xf4, 0xeb, 0xfd };

static bool
run_probe(h2k_ctx *ctx)
{
    if (!hk_kvm_possible()) {
        hk_debug(ctx, "test", "no usable /dev/kvm (or no vmx/svm CPU flag): using TCG");
        return false;
    }
    bool ok = false;
    char *dir = hk_path_join(h2k_ctx_tmpdir(ctx), "h2k-kvm-XXXXXX");
    char *disk = NULL, *log = NULL;
    pid_t pid = -1;
    if (!dir || !mkdtemp(dir))
        goto done;
    disk = hk_path_join(dir, "boot.img");
    log = hk_path_join(dir, "serial.log");
    if (!disk || !log)
        goto done;
    unsigned char sector[512] = { 0 };
    memcpy(sector, boot_code, sizeof(boot_code));
    sector[510] = 0x55;
    sector[511] = 0xaa;
    FILE *f = fopen(disk, "wbe");
    if (!f)
        goto done;
    bool written = fwrite(sector, 1, sizeof(sector), f) == sizeof(sector);
    if (fclose(f) != 0 || !written)
        goto done;
    f = fopen(log, "we");
    if (!f || fclose(f) != 0)
        goto done;
    char *drive = NULL, *serial = NULL;
    char *d = hk_qemu_escape(disk), *l = hk_qemu_escape(log);
    if (d && l) {
        drive = hk_asprintf("file=%s,format=raw,if=ide,snapshot=on", d);
        serial = hk_asprintf("file,id=serial0,path=%s", l);
    }
    free(d);
    free(l);
    if (drive && serial) {
        const char *argv[] = { "qemu-system-x86_64", "-machine", "pc,accel=kvm", "-m", "16",
                               "-nodefaults", "-no-user-config", "-display", "none",
                               "-chardev", serial, "-serial", "chardev:serial0",
                               "-drive", drive, NULL };
        if (hk_proc_spawn(ctx, argv, NULL, &pid) < 0) {
            h2k_ctx_clear_error(ctx);
            pid = -1;
        }
    }
    free(drive);
    free(serial);
    double end = hk_now() + PROBE_SECONDS;
    while (pid > 0 && hk_now() < end && !ok) {
        char buf[8] = { 0 };
        int lfd = open(log, O_RDONLY | O_CLOEXEC);
        if (lfd >= 0) {
            ok = read(lfd, buf, sizeof(buf) - 1) > 0 && strchr(buf, 'K') != NULL;
            close(lfd);
        }
        if (!ok && hk_proc_exited(pid, NULL))
            break;
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
    hk_info(ctx, "test", "KVM %s", ok ? "runs guests: using it" : "cannot run a guest here: using TCG");
    return ok;
}

bool
hk_kvm_usable(h2k_ctx *ctx)
{
    int s = atomic_load(&kvm_state);
    if (s == 0) {
        s = run_probe(ctx) ? 1 : 2;
        atomic_store(&kvm_state, s);
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

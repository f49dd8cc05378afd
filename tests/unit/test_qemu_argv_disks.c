/*
 * Unit tests of the qemu command line of a boot test with several disks
 * (hk_qemu_plan.extra_disks): the VM's other disks follow the boot disk on its
 * bus, without a boot index, pinned to their format and to a local file, and
 * with snapshot=on so that the outputs are never written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "boottest/boot_internal.h"

/* argv joined with '\n' (caller frees) */
static char *
joined(char **argv)
{
    hk_buf b = {0};
    for (size_t i = 0; argv[i]; i++)
        hk_buf_printf(&b, "%s\n", argv[i]);
    return hk_buf_steal(&b);
}

static hk_qemu_plan
plan(h2k_bus bus, const char *machine)
{
    hk_qemu_plan p = {
        .qemu = "qemu-system-x86_64",
        .accel = "tcg",
        .vm =
            {
                .machine = machine,
                .memory_mib = 1024,
                .vcpus = 1,
                .disk = "/o/overlay.qcow2",
                .disk_format = "qcow2",
                .bus = bus,
                .nic_model = "virtio-net-pci",
                .console_log = "/o/console.log",
            },
    };
    return p;
}

static void
test_extra_disks_virtio(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    static const char *const extra[] = {"/out/vm-disk2.qcow2", "/out/a,b=c.qcow2"};
    hk_qemu_plan p = plan(H2K_BUS_VIRTIO, "q35");
    p.extra_disks = extra;
    p.n_extra_disks = 2;
    p.extra_format = "qcow2";
    char **argv = NULL;
    assert_int_equal(hk_qemu_argv(ctx, &p, &argv), 0);
    char *s = joined(argv);
    const char *boot = strstr(s, "virtio-blk-pci,drive=disk0,bootindex=1\n");
    const char *d1 = strstr(s, "-drive\ndriver=qcow2,file.driver=file,file.filename=/out/"
                               "vm-disk2.qcow2,if=none,id=disk1,snapshot=on,cache=unsafe\n"
                               "-device\nvirtio-blk-pci,drive=disk1\n");
    /* a comma in a path is escaped, never an option separator */
    const char *d2 = strstr(s, "file.filename=/out/a,,b=c.qcow2,if=none,id=disk2,snapshot=on");
    if (!boot || !d1 || !d2 || d1 < boot || d2 < d1)
        fail_msg("qemu argv:\n%s", s);
    assert_non_null(strstr(s, "-device\nvirtio-blk-pci,drive=disk2\n"));
    /* one boot disk only */
    assert_null(strstr(boot + strlen("virtio-blk-pci,drive=disk0,bootindex=1"), "bootindex"));
    free(s);
    hk_strv_free(argv);
    h2k_ctx_free(ctx);
}

static void
test_extra_disks_other_buses(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    static const char *const extra[] = {"/out/vm-disk2.vmdk"};
    hk_qemu_plan p = plan(H2K_BUS_SCSI, "q35");
    p.extra_disks = extra;
    p.n_extra_disks = 1;
    p.extra_format = "vmdk";
    char **argv = NULL;
    assert_int_equal(hk_qemu_argv(ctx, &p, &argv), 0);
    char *s = joined(argv);
    assert_non_null(strstr(s, "driver=vmdk,file.driver=file,file.filename=/out/vm-disk2.vmdk,"
                              "if=none,id=disk1,snapshot=on"));
    assert_non_null(strstr(s, "-device\nscsi-hd,drive=disk1,bus=scsi0.0\n"));
    free(s);
    hk_strv_free(argv);

    p = plan(H2K_BUS_IDE, "pc");
    p.extra_disks = extra;
    p.n_extra_disks = 1;
    p.extra_format = "vmdk";
    assert_int_equal(hk_qemu_argv(ctx, &p, &argv), 0);
    s = joined(argv);
    assert_non_null(strstr(s, "-device\nide-hd,drive=disk1,bus=ide.1\n"));
    free(s);
    hk_strv_free(argv);

    /* extra disks without their list or format: an incomplete plan */
    p = plan(H2K_BUS_VIRTIO, "q35");
    p.n_extra_disks = 1;
    assert_int_equal(hk_qemu_argv(ctx, &p, &argv), H2K_ERR_INVALID_ARG);
    assert_null(argv);
    p.extra_disks = extra;
    assert_int_equal(hk_qemu_argv(ctx, &p, &argv), H2K_ERR_INVALID_ARG);
    assert_null(argv);
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extra_disks_virtio),
        cmocka_unit_test(test_extra_disks_other_buses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The boot proof of a migration fails when it must, on the path where the
 * repair appliance places the boot probe (no second appliance): the real
 * Debian guest (scripts/images/build-debian-guest.sh) migrated with only
 * some repairs.
 *   - without the initramfs and GRUB repairs it does not boot on virtio
 *     (its initramfs has no virtio driver, it names /dev/sda1);
 *   - without the network repair it boots, but its interface (ens192 in its
 *     configuration) does not exist on KVM: no address comes up, and a VM with
 *     a NIC whose network stays down is not a proven boot.
 * Neither run leaves an output behind, and neither output holds the probe.
 * Slow (an appliance and a TCG boot each).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#define GUEST_MAC "00:50:56:3a:12:7b"

static h2k_migration_result *
migrate(unsigned fixes, h2k_ctx *ctx, const char *out, int *rc)
{
    char *src = ts_debian_guest();
    const char *inputs[] = {src};
    const char *macs[] = {GUEST_MAC};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.name = "debian12";
    o.nic_macs = macs;
    o.n_nic_macs = 1;
    o.fixes = fixes;
    o.test_boot = 1;
    o.boot_timeout = 600;
    h2k_migration_result *res = NULL;
    *rc = h2k_orchestrator_run(ctx, &o, &res);
    free(src);
    return res;
}

/* the run used the repair appliance's probe: no fallback was warned about */
static void
assert_one_appliance(const h2k_migration_result *res)
{
    for (size_t i = 0; i < res->n_warnings; i++)
        if (strstr(res->warnings[i], "boot probe"))
            fail_msg("fallback to a second appliance: %s", res->warnings[i]);
}

static void
test_unbootable_guest_fails(void **state)
{
    (void)state;
    ts_require_program("qemu-system-x86_64");
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    h2k_ctx *ctx = ts_ctx();
    int rc = 0;
    h2k_migration_result *res = migrate(H2K_FIX_NETWORK, ctx, out, &rc);
    assert_int_equal(rc, H2K_ERR_BOOT_TEST);
    assert_non_null(res);
    assert_int_equal(res->success, 0);
    assert_non_null(res->boot);
    assert_int_equal(res->boot->success, 0);
    assert_non_null(res->boot->console_tail);
    if (!strstr(res->boot->console_tail, "ALERT!") &&
        !strstr(res->boot->console_tail, "does not exist"))
        fail_msg("no initramfs failure on the console: %s", res->boot->console_tail);
    assert_one_appliance(res);
    assert_true(ts_count_dir(out) <= 0); /* no output (the folder is gone) */
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(out);
    free(dir);
}

static void
test_network_down_fails(void **state)
{
    (void)state;
    ts_require_program("qemu-system-x86_64");
    char *dir = ts_mkdtemp();
    char *out = ts_join(dir, "out");
    h2k_ctx *ctx = ts_ctx();
    int rc = 0;
    h2k_migration_result *res =
        migrate(H2K_FIX_FSTAB | H2K_FIX_GRUB | H2K_FIX_INITRAMFS, ctx, out, &rc);
    assert_int_equal(rc, H2K_ERR_BOOT_TEST);
    assert_non_null(res);
    assert_int_equal(res->success, 0);
    assert_non_null(res->boot);
    assert_int_equal(res->boot->success, 0);
    assert_int_equal(res->boot->n_addresses, 0);
    /* it did boot: the probe reported, without an address */
    assert_non_null(res->boot->proof_line);
    assert_non_null(strstr(res->boot->proof_line, "H2K-BOOT-OK"));
    assert_non_null(res->boot->error_message);
    assert_non_null(strstr(res->boot->error_message, "network did not come up"));
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "network did not come up"));
    assert_one_appliance(res);
    assert_true(ts_count_dir(out) <= 0); /* no output (the folder is gone) */
    h2k_migration_result_free(res);
    h2k_ctx_free(ctx);
    ts_rmtree(dir);
    free(out);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unbootable_guest_fails),
        cmocka_unit_test(test_network_down_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

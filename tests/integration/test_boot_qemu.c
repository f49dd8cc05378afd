/*
 * Integration tests of h2k_qemu_test_run() and "hyper2kvm test" with
 * qemu-system-x86_64 (TCG when KVM cannot run guests), libguestfs and OVMF:
 *   - the Debian 12 VMware-shaped guest (scripts/images/build-debian-guest.sh)
 *     boots on IDE/e1000 before repair: the injected marker proves it, with
 *     its static address;
 *   - the same guest on virtio-blk stops in the initramfs: the test fails fast
 *     with the "ALERT!" console tail;
 *   - a disk that never boots hits the timeout; cancellation stops the VM;
 *   - a GPT disk whose EFI system partition holds a startup.nsh boots through
 *     OVMF (the UEFI shell runs it and prints a marker);
 * and after each: no child process, no work file, the image untouched.
 */
#include <pthread.h>
#include <sys/wait.h>

#include "boot_helpers.h"
#include "boottest/boot_internal.h"

#define BOOT_TIMEOUT 600 /* TCG on a loaded 2-core machine: the guest needs 30-150 s */

static void
assert_clean(const char *tmp)
{
    assert_int_equal(ts_count_children(NULL), 0);
    assert_int_equal(ts_count_dir(tmp), 0);
}

static void
test_debian_ide_marker(void **state)
{
    (void)state;
    char *img = debian_guest();
    file_stamp before = stamp(img);
    char *tmp = NULL;
    h2k_ctx *ctx = boot_ctx(&tmp);
    char *keep = ts_mkdtemp();
    char *log = ts_join(keep, "console.log");

    h2k_boot_test_options o = H2K_BOOT_TEST_OPTIONS_INIT;
    o.bus = H2K_BUS_IDE;
    o.nic_model = "e1000";
    o.mac = GUEST_MAC; /* the guest pins ens192 to this MAC */
    o.timeout_seconds = BOOT_TIMEOUT;
    o.console_log = log;
    h2k_boot_result *r = NULL;
    ts_assert_rc(ctx, h2k_qemu_test_run(ctx, img, &o, &r), 0);
    assert_non_null(r);
    assert_int_equal(r->success, 1);
    assert_int_equal(r->timed_out, 0);
    assert_true(r->boot_seconds > 1.0 && r->boot_seconds < BOOT_TIMEOUT);
    assert_non_null(r->hostname);
    assert_string_equal(r->hostname, GUEST_HOSTNAME);
    assert_int_equal(r->n_addresses, 1);
    assert_string_equal(r->addresses[0], GUEST_IP);
    assert_non_null(r->proof_line);
    assert_true(hk_startswith(r->proof_line, "H2K-BOOT-OK "));
    assert_null(r->error_message);
    assert_non_null(r->accel);
    print_message("booted in %.1f s (%s): %s\n", r->boot_seconds, r->accel, r->proof_line);

    /* the kept log holds the very line that proved the boot */
    assert_non_null(r->console_log_path);
    assert_string_equal(r->console_log_path, log);
    char *text = ts_read_file(log, NULL);
    assert_non_null(strstr(text, r->proof_line));
    free(text);

    char *json = h2k_boot_result_to_json(r);
    assert_non_null(strstr(json, "\"" GUEST_IP "\""));
    free(json);
    h2k_boot_result_free(r);
    assert_clean(tmp);
    assert_unchanged(img, before);
    h2k_ctx_free(ctx);
    ts_rmtree(keep);
    ts_rmtree(tmp);
    free(keep);
    free(log);
    free(tmp);
    free(img);
}

static void
test_debian_virtio_fails_fast(void **state)
{
    (void)state;
    char *img = debian_guest();
    file_stamp before = stamp(img);
    char *tmp = NULL;
    h2k_ctx *ctx = boot_ctx(&tmp);
    h2k_boot_test_options o = H2K_BOOT_TEST_OPTIONS_INIT;
    o.bus = H2K_BUS_VIRTIO;
    o.proof = H2K_PROOF_LOGIN; /* the failure comes first; no appliance needed */
    o.timeout_seconds = BOOT_TIMEOUT;
    h2k_boot_result *r = NULL;
    double t0 = hk_now();
    ts_assert_rc(ctx, h2k_qemu_test_run(ctx, img, &o, &r), H2K_ERR_BOOT_TEST);
    double took = hk_now() - t0;
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_non_null(e->console_tail);
    assert_non_null(strstr(e->console_tail, "ALERT!"));
    assert_non_null(strstr(e->console_tail, "/dev/sda1 does not exist"));
    assert_non_null(strstr(e->message, "did not find the root file system"));
    assert_string_equal(e->stage, "boot-test");
    assert_non_null(r);
    assert_int_equal(r->success, 0);
    assert_int_equal(r->timed_out, 0);
    assert_non_null(strstr(r->console_tail, "ALERT!"));
    assert_non_null(r->error_message);
    assert_null(r->console_log_path);
    print_message("failed after %.1f s: %s\n", took, e->message);
    assert_true(took < BOOT_TIMEOUT / 2);
    h2k_boot_result_free(r);
    assert_clean(tmp);
    assert_unchanged(img, before);
    h2k_ctx_free(ctx);
    ts_rmtree(tmp);
    free(tmp);
    free(img);
}

static void
test_timeout_kills_qemu(void **state)
{
    (void)state;
    char *tmp = NULL, *dir = ts_mkdtemp();
    h2k_ctx *ctx = boot_ctx(&tmp);
    char *disk = zero_disk(dir);
    h2k_boot_test_options o = H2K_BOOT_TEST_OPTIONS_INIT;
    o.proof = H2K_PROOF_LOGIN;
    o.timeout_seconds = 20;
    o.format = "raw";
    h2k_boot_result *r = NULL;
    double t0 = hk_now();
    ts_assert_rc(ctx, h2k_qemu_test_run(ctx, disk, &o, &r), H2K_ERR_BOOT_TEST);
    double took = hk_now() - t0;
    assert_non_null(r);
    assert_int_equal(r->timed_out, 1);
    assert_int_equal(r->success, 0);
    assert_true(r->boot_seconds >= 20.0 && r->boot_seconds < 25.0);
    assert_true(took < 45.0);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "within 20 s"));
    h2k_boot_result_free(r);
    assert_clean(tmp);
    h2k_ctx_free(ctx);
    ts_rmtree(tmp);
    ts_rmtree(dir);
    free(disk);
    free(tmp);
    free(dir);
}

static void *
cancel_later(void *arg)
{
    sleep(3);
    h2k_ctx_cancel(arg);
    return NULL;
}

static void
test_cancel_stops_qemu(void **state)
{
    (void)state;
    char *tmp = NULL, *dir = ts_mkdtemp();
    h2k_ctx *ctx = boot_ctx(&tmp);
    char *disk = zero_disk(dir);
    h2k_boot_test_options o = H2K_BOOT_TEST_OPTIONS_INIT;
    o.proof = H2K_PROOF_LOGIN;
    o.timeout_seconds = 300;
    h2k_boot_result *r = NULL;
    /* accel resolved before timing: the KVM check runs once per process */
    (void)hk_boot_accel_name(ctx, H2K_ACCEL_AUTO);
    pthread_t th;
    double t0 = hk_now();
    assert_int_equal(pthread_create(&th, NULL, cancel_later, ctx), 0);
    ts_assert_rc(ctx, h2k_qemu_test_run(ctx, disk, &o, &r), H2K_ERR_CANCELLED);
    pthread_join(th, NULL);
    assert_true(hk_now() - t0 < 20.0);
    assert_non_null(r);
    assert_int_equal(r->success, 0);
    h2k_boot_result_free(r);
    assert_clean(tmp);
    h2k_ctx_free(ctx);
    ts_rmtree(tmp);
    ts_rmtree(dir);
    free(disk);
    free(tmp);
    free(dir);
}

static void
test_uefi_shell_startup(void **state)
{
    (void)state;
    char *tmp = NULL, *dir = ts_mkdtemp();
    h2k_ctx *ctx = boot_ctx(&tmp);
    /* the marker is assembled from a shell variable so that an echoed command
       line cannot match, and echo is off */
    char *img = uefi_disk(dir, "@echo -off\r\nset h2kword BOOTED\r\necho H2K-UEFI-%h2kword%\r\n");
    file_stamp vars_before = stamp(HK_OVMF_VARS);
    h2k_boot_test_options o = H2K_BOOT_TEST_OPTIONS_INIT;
    o.uefi = 1;
    o.proof = H2K_PROOF_TEXT;
    o.expect_text = "H2K-UEFI-BOOTED";
    o.nic_model = "none"; /* no network boot attempts before the shell */
    o.timeout_seconds = 300;
    h2k_boot_result *r = NULL;
    ts_assert_rc(ctx, h2k_qemu_test_run(ctx, img, &o, &r), 0);
    assert_non_null(r);
    assert_int_equal(r->success, 1);
    assert_string_equal(r->proof_line, "H2K-UEFI-BOOTED");
    print_message("UEFI shell ran startup.nsh after %.1f s\n", r->boot_seconds);
    h2k_boot_result_free(r);
    assert_clean(tmp); /* the OVMF variable copy is gone too */
    assert_unchanged(HK_OVMF_VARS, vars_before);
    h2k_ctx_free(ctx);
    ts_rmtree(tmp);
    ts_rmtree(dir);
    free(img);
    free(tmp);
    free(dir);
}

static void
test_cli(void **state)
{
    (void)state;
    const char *cli = ts_env("H2K_CLI");
    char *dir = ts_mkdtemp();
    char *disk = zero_disk(dir);
    char *out = NULL;
    const char *a1[] = {cli, "test", disk, "--timeout", "5", "--proof", "login", "--json", NULL};
    int st = ts_run(a1, &out);
    assert_int_equal(st, 10 + 7); /* 10 + |H2K_ERR_BOOT_TEST| */
    assert_non_null(strstr(out, "\"BOOT_TEST\""));
    assert_non_null(strstr(out, "within 5 s"));
    free(out);
    const char *a2[] = {cli, "test", NULL};
    assert_int_equal(ts_run(a2, NULL), 2);
    const char *a3[] = {cli, "test", disk, "--bus", "nvme", NULL};
    assert_int_equal(ts_run(a3, NULL), 2);
    const char *a4[] = {cli, "test", disk, "--memory", "lots", NULL};
    assert_int_equal(ts_run(a4, NULL), 2);
    const char *a5[] = {cli, "test", "/nonexistent.img", NULL};
    assert_int_equal(ts_run(a5, NULL), 10 + 10); /* NOT_FOUND */
    assert_int_equal(ts_count_children(NULL), 0);
    ts_rmtree(dir);
    free(disk);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_timeout_kills_qemu),
        cmocka_unit_test(test_cancel_stops_qemu),
        cmocka_unit_test(test_uefi_shell_startup),
        cmocka_unit_test(test_debian_virtio_fails_fast),
        cmocka_unit_test(test_debian_ide_marker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

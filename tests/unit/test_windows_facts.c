/* Windows facts that need no guest: virtio-win short names, netmasks, and a
 * Windows identity that Linux-looking files do not turn into Linux. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "guest/detect_files.h"
#include "guest/win_inspect.h"
#include "testsupport.h"

static void
test_short_names(void **state)
{
    (void)state;
    assert_string_equal(hk_win_short_name(6, 1, 7601, false), "w7");
    assert_string_equal(hk_win_short_name(6, 1, 7601, true), "2k8r2");
    assert_string_equal(hk_win_short_name(6, 2, 9200, true), "2k12");
    assert_string_equal(hk_win_short_name(6, 3, 9600, false), "w8.1");
    assert_string_equal(hk_win_short_name(10, 0, 19045, false), "w10");
    assert_string_equal(hk_win_short_name(10, 0, 22000, false), "w11");
    assert_string_equal(hk_win_short_name(10, 0, 22631, false), "w11");
    assert_string_equal(hk_win_short_name(10, 0, 14393, true), "2k16");
    assert_string_equal(hk_win_short_name(10, 0, 17763, true), "2k19");
    assert_string_equal(hk_win_short_name(10, 0, 20348, true), "2k22");
    assert_string_equal(hk_win_short_name(10, 0, 26100, true), "2k25");
    assert_null(hk_win_short_name(4, 0, 0, false));
}

static void
test_mask_prefix(void **state)
{
    (void)state;
    assert_int_equal(hk_win_mask_prefix("255.255.255.0"), 24);
    assert_int_equal(hk_win_mask_prefix("255.255.252.0"), 22);
    assert_int_equal(hk_win_mask_prefix("255.255.255.255"), 32);
    assert_int_equal(hk_win_mask_prefix("0.0.0.0"), 0);
    assert_int_equal(hk_win_mask_prefix("255.0.255.0"), -1);
    assert_int_equal(hk_win_mask_prefix("garbage"), -1);
    assert_int_equal(hk_win_mask_prefix(NULL), -1);
}

static void
test_windows_stays_windows(void **state)
{
    (void)state;
    char *root = ts_mkdtemp();
    char *etc = ts_join(root, "etc");
    mkdir(etc, 0755);
    char *osr = ts_join(etc, "os-release");
    ts_write_file(osr, "ID=debian\nVERSION_ID=12\n", 23);
    char *win = ts_join(root, "Windows");
    mkdir(win, 0755);
    hk_fsread *fs = hk_fsread_dir_new(root);
    h2k_guest_identity *id = calloc(1, sizeof(*id));
    id->type = H2K_GUEST_WINDOWS; /* what libguestfs inspection said */
    id->os_id = strdup("windows");
    h2k_ctx *ctx = ts_ctx();
    assert_int_equal(hk_guest_detect_files(ctx, fs, id, false), 0);
    assert_int_equal(id->type, H2K_GUEST_WINDOWS);
    assert_string_equal(id->os_id, "windows");
    h2k_guest_identity_free(id);
    /* without inspection's answer the same files are Linux */
    id = calloc(1, sizeof(*id));
    assert_int_equal(hk_guest_detect_files(ctx, fs, id, false), 0);
    assert_int_equal(id->type, H2K_GUEST_LINUX);
    h2k_guest_identity_free(id);
    h2k_ctx_free(ctx);
    hk_fsread_dir_free(fs);
    ts_rmtree(root);
    free(root);
    free(etc);
    free(osr);
    free(win);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_names),
        cmocka_unit_test(test_mask_prefix),
        cmocka_unit_test(test_windows_stays_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

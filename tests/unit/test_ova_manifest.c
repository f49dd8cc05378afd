/* Unit tests of the OVF manifest parser (src/disk/ova_manifest.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"
#include "disk/ova_internal.h"

#define SHA1_ABC "a9993e364706816aba3e25717850c26c9cd0d89d"
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static int
parse(const char *line, hk_mf_entry *e, const char **why)
{
    return hk_mf_parse_line(line, strlen(line), e, why);
}

static void
test_line_ok(void **state)
{
    (void)state;
    hk_mf_entry e;
    const char *why = NULL;
    assert_int_equal(parse("SHA1(vm.ovf)= " SHA1_ABC, &e, &why), 1);
    assert_int_equal(e.algo, HK_MF_SHA1);
    assert_string_equal(e.name, "vm.ovf");
    assert_string_equal(e.digest, SHA1_ABC);
    free(e.name);

    /* no space, upper-case hex, CRLF and blanks around */
    assert_int_equal(
        parse(
            "  SHA256(disk 1.vmdk)=BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD \r",
            &e, &why),
        1);
    assert_int_equal(e.algo, HK_MF_SHA256);
    assert_string_equal(e.name, "disk 1.vmdk");
    assert_string_equal(e.digest, SHA256_ABC);
    free(e.name);

    /* parentheses in the name; spaces before '=' */
    char l512[300];
    char hex[129];
    memset(hex, 'a', 128);
    hex[128] = '\0';
    snprintf(l512, sizeof(l512), "SHA512(a (copy).vmdk) = %s", hex);
    assert_int_equal(parse(l512, &e, &why), 1);
    assert_int_equal(e.algo, HK_MF_SHA512);
    assert_string_equal(e.name, "a (copy).vmdk");
    assert_string_equal(e.digest, hex);
    free(e.name);

    /* blank lines */
    assert_int_equal(parse("", &e, &why), 0);
    assert_int_equal(parse("  \r", &e, &why), 0);
}

static void
expect_bad(const char *line, const char *why_part)
{
    hk_mf_entry e;
    const char *why = NULL;
    int r = hk_mf_parse_line(line, strlen(line), &e, &why);
    if (r != -1)
        print_error("accepted: %s\n", line);
    assert_int_equal(r, -1);
    assert_null(e.name);
    assert_non_null(why);
    if (!strstr(why, why_part))
        print_error("%s: reason \"%s\", want \"%s\"\n", line, why, why_part);
    assert_non_null(strstr(why, why_part));
}

static void
test_line_bad(void **state)
{
    (void)state;
    expect_bad("MD5(vm.ovf)= d41d8cd98f00b204e9800998ecf8427e", "unknown digest algorithm");
    expect_bad("sha1(vm.ovf)= " SHA1_ABC, "unknown digest algorithm");
    expect_bad("SHA1 vm.ovf " SHA1_ABC, "ALGO(file)");
    expect_bad("SHA1(vm.ovf) " SHA1_ABC, "'='");
    expect_bad("SHA1(vm.ovf= " SHA1_ABC, "ALGO(file)");
    expect_bad("SHA1()= " SHA1_ABC, "ALGO(file)");
    expect_bad("SHA1(vm.ovf)= " SHA1_ABC "0", "wrong length");
    expect_bad("SHA1(vm.ovf)= " SHA256_ABC, "wrong length");
    expect_bad("SHA1(vm.ovf)= a9993e364706816aba3e25717850c26c9cd0d89g", "hexadecimal");
    expect_bad("SHA1(vm.ovf)=", "wrong length");
    expect_bad("SHA1(v\tm.ovf)= " SHA1_ABC, "control");
    hk_mf_entry e;
    const char *why = NULL;
    const char nul[] = "SHA1(a\0b)= " SHA1_ABC;
    assert_int_equal(hk_mf_parse_line(nul, sizeof(nul) - 1, &e, &why), -1);
    assert_non_null(strstr(why, "NUL"));
}

static void
test_parse_whole(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    const char *mf = "\xef\xbb\xbfSHA1(vm.ovf)= " SHA1_ABC "\r\n"
                     "\n"
                     "SHA256(disk1.vmdk)= " SHA256_ABC "\n";
    hk_mf_entry *e = NULL;
    size_t n = 0;
    ts_assert_rc(ctx, hk_mf_parse(ctx, mf, strlen(mf), "/x.ova", "vm.mf", 1000, &e, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].name, "vm.ovf");
    assert_int_equal(e[0].line, 1);
    assert_string_equal(e[1].name, "disk1.vmdk");
    assert_int_equal(e[1].line, 3);
    assert_int_equal(e[1].algo, HK_MF_SHA256);
    hk_mf_entries_free(e, n);

    /* no trailing newline */
    const char *mf2 = "SHA1(a)= " SHA1_ABC;
    ts_assert_rc(ctx, hk_mf_parse(ctx, mf2, strlen(mf2), "/x.ova", "vm.mf", 0, &e, &n), 0);
    assert_int_equal(n, 1);
    hk_mf_entries_free(e, n);

    /* malformed third line: FORMAT with the line number and its offset */
    const char *bad = "SHA1(a)= " SHA1_ABC "\n\nSHA1(b) " SHA1_ABC "\n";
    assert_int_equal(hk_mf_parse(ctx, bad, strlen(bad), "/x.ova", "vm.mf", 1000, &e, &n),
                     H2K_ERR_FORMAT);
    assert_null(e);
    assert_int_equal(n, 0);
    const h2k_error *err = h2k_ctx_last_error(ctx);
    assert_non_null(strstr(err->message, "manifest vm.mf: line 3 is malformed"));
    assert_string_equal(err->source_path, "/x.ova");
    assert_int_equal(err->offset, 1000 + 51);

    /* empty manifest */
    ts_assert_rc(ctx, hk_mf_parse(ctx, "", 0, "/x.ova", "vm.mf", 0, &e, &n), 0);
    assert_int_equal(n, 0);
    hk_mf_entries_free(e, n);
    assert_string_equal(hk_mf_algo_name(HK_MF_SHA512), "SHA512");
    h2k_ctx_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_ok),
        cmocka_unit_test(test_line_bad),
        cmocka_unit_test(test_parse_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

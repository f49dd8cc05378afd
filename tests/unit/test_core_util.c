/* Unit tests of the helpers that live once in src/core: atomic writes,
 * digests, MAC addresses, string vectors, recursive removal, the curl sink. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

#include "core/curl_util.h"
#include "core/util.h"

static void
test_atomic_write(void **state)
{
    ts_fixture *f = *state;
    char *p = ts_join(f->dir, "out.xml");
    assert_int_equal(hk_write_file_atomic(f->ctx, p, "<a/>\n", 5, 0, NULL), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 5);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* replaced whole; mode never wider than asked nor than the source */
    char *src = ts_join(f->dir, "src");
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(chmod(src, 0640), 0);
    assert_int_equal(hk_write_file_atomic(f->ctx, p, "x", 1, 0755, src), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 1);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(hk_write_file_atomic(f->ctx, p, "", 0, 0644, NULL), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    /* a folder that does not exist: an error naming it, nothing left over */
    char *bad = ts_join(f->dir, "nope/out.xml");
    assert_int_equal(hk_write_file_atomic(f->ctx, bad, "x", 1, 0, NULL), H2K_ERR_NOT_FOUND);
    assert_non_null(strstr(h2k_ctx_last_error(f->ctx)->message, "nope/out.xml.part-"));
    /* only out.xml and src in the folder: no temporary left behind */
    int n = 0;
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(n, 2);
    free(bad);
    free(src);
    free(p);
}

static void
test_digest(void **state)
{
    ts_fixture *f = *state;
    char hex[HK_DIGEST_HEX_MAX];
    assert_true(hk_digest_mem("abc", 3, HK_DIGEST_SHA1, hex));
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_true(hk_digest_mem("abc", 3, HK_DIGEST_SHA256, hex));
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(hk_digest_hex_len(HK_DIGEST_SHA1), 40);
    assert_int_equal(hk_digest_hex_len(HK_DIGEST_SHA256), 64);

    char *p = ts_join(f->dir, "abc");
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("abc", fp);
    fclose(fp);
    uint64_t size = 0;
    assert_int_equal(hk_digest_file(f->ctx, p, HK_DIGEST_SHA256, hex, &size), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(size, 3);
    assert_int_equal(hk_digest_file(f->ctx, p, HK_DIGEST_SHA1, hex, NULL), 0);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    /* empty file, missing file, a folder */
    char *e = ts_join(f->dir, "empty");
    fp = fopen(e, "w");
    fclose(fp);
    assert_int_equal(hk_digest_file(f->ctx, e, HK_DIGEST_SHA1, hex, &size), 0);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_int_equal(size, 0);
    char *m = ts_join(f->dir, "missing");
    assert_int_equal(hk_digest_file(f->ctx, m, HK_DIGEST_SHA1, hex, NULL), H2K_ERR_NOT_FOUND);
    assert_string_equal(hex, "");
    assert_non_null(strstr(h2k_ctx_last_error(f->ctx)->message, "missing"));
    assert_true(hk_digest_file(f->ctx, f->dir, HK_DIGEST_SHA1, hex, NULL) < 0);
    free(m);
    free(e);
    free(p);
}

static void
test_mac(void **state)
{
    (void)state;
    unsigned char b[6];
    char out[18];
    assert_true(hk_mac_parse("52:54:00:AB:cd:ef", 17, 0, b));
    assert_int_equal(b[0], 0x52);
    assert_int_equal(b[5], 0xef);
    hk_mac_format(b, out);
    assert_string_equal(out, "52:54:00:ab:cd:ef");
    assert_true(hk_mac_norm("52-54-00-AB-CD-EF", 17, 0, out));
    assert_string_equal(out, "52:54:00:ab:cd:ef");
    /* a prefix of a longer string: only @len bytes count */
    assert_true(hk_mac_parse("52:54:00:ab:cd:ef trailing", 17, 0, NULL));
    /* mixed separators, wrong lengths, junk, bare digits without the flag */
    assert_false(hk_mac_parse("52:54-00:ab:cd:ef", 17, 0, NULL));
    assert_false(hk_mac_parse("52.54.00.ab.cd.ef", 17, 0, NULL));
    assert_false(hk_mac_parse("52:54:00:ab:cd:e", 16, 0, NULL));
    assert_false(hk_mac_parse("52:54:00:ab:cd:eg", 17, 0, NULL));
    assert_false(hk_mac_parse("525400abcdef", 12, 0, NULL));
    assert_false(hk_mac_parse(NULL, 0, 0, NULL));
    assert_false(hk_mac_norm("zz", 2, 0, out));
    assert_string_equal(out, "");
    assert_true(hk_mac_norm("525400ABCDEF", 12, HK_MAC_BARE, out));
    assert_string_equal(out, "52:54:00:ab:cd:ef");
    assert_false(hk_mac_parse("525400ABCDEG", 12, HK_MAC_BARE, NULL));
    char s[] = "52-54-00-AB-CD-EF";
    assert_true(hk_mac_canon(s));
    assert_string_equal(s, "52:54:00:ab:cd:ef");
    char t[] = "not a mac";
    assert_false(hk_mac_canon(t));
    assert_string_equal(t, "not a mac");
    assert_false(hk_mac_canon(NULL));
    assert_int_equal(hk_hexval('0'), 0);
    assert_int_equal(hk_hexval('a'), 10);
    assert_int_equal(hk_hexval('F'), 15);
    assert_int_equal(hk_hexval('g'), -1);
    assert_int_equal(hk_hexval('\0'), -1);
}

static void
test_strv(void **state)
{
    (void)state;
    char **v = NULL;
    size_t n = 0;
    assert_true(hk_strv_add(&v, &n, "a"));
    assert_true(hk_strv_add(&v, &n, NULL));
    assert_true(hk_strv_add(&v, &n, "c"));
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "a");
    assert_string_equal(v[1], "");
    assert_string_equal(v[2], "c");
    hk_strv_clear(&v, &n);
    assert_null(v);
    assert_int_equal(n, 0);
    hk_strv_clear(&v, &n);

    char **z = calloc(3, sizeof(char *));
    assert_non_null(z);
    z[0] = strdup("x");
    z[1] = strdup("y");
    assert_int_equal(hk_strv_len(z), 2);
    assert_int_equal(hk_strv_len(NULL), 0);
    hk_strv_free(z);
    hk_strv_free(NULL);
}

static void
test_remove_tree(void **state)
{
    ts_fixture *f = *state;
    /* outside/keep must survive: a symbolic link to it inside the tree is
     * removed as a link */
    char *outside = ts_join(f->dir, "outside");
    assert_int_equal(mkdir(outside, 0700), 0);
    char *keep = ts_join(outside, "keep");
    FILE *fp = fopen(keep, "w");
    assert_non_null(fp);
    fclose(fp);
    char *tree = ts_join(f->dir, "tree");
    char *deep = ts_join(tree, "a/b/c");
    char *a = ts_join(tree, "a"), *ab = ts_join(tree, "a/b");
    assert_int_equal(mkdir(tree, 0700), 0);
    assert_int_equal(mkdir(a, 0700), 0);
    assert_int_equal(mkdir(ab, 0700), 0);
    assert_int_equal(mkdir(deep, 0700), 0);
    char *file = ts_join(deep, "f");
    fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    char *link = ts_join(ab, "link");
    assert_int_equal(symlink(outside, link), 0);
    /* an unreadable (mode 0) empty folder is still removed */
    char *locked = ts_join(a, "locked");
    assert_int_equal(mkdir(locked, 0), 0);

    assert_int_equal(hk_remove_tree(tree), 0);
    assert_int_equal(access(tree, F_OK), -1);
    assert_int_equal(access(keep, F_OK), 0);
    /* already gone: fine */
    assert_int_equal(hk_remove_tree(tree), 0);
    /* a symbolic link given itself: the link goes, not its target */
    char *l2 = ts_join(f->dir, "l2");
    assert_int_equal(symlink(outside, l2), 0);
    assert_int_equal(hk_remove_tree(l2), 0);
    assert_int_equal(access(keep, F_OK), 0);
    assert_int_equal(hk_remove_tree(""), -EINVAL);
    free(l2);
    free(locked);
    free(link);
    free(file);
    free(ab);
    free(a);
    free(deep);
    free(tree);
    free(keep);
    free(outside);
}

static void
test_curl_sink(void **state)
{
    (void)state;
    hk_curl_sink s = {.max = 8};
    char data[] = "0123456789";
    assert_int_equal(hk_curl_sink_write(data, 1, 5, &s), 5);
    assert_int_equal(hk_curl_sink_write(data, 3, 1, &s), 3);
    assert_string_equal(s.b.data, "01234012");
    assert_false(s.too_big);
    assert_int_equal(hk_curl_sink_write(data, 1, 1, &s), 0);
    assert_true(s.too_big);
    assert_int_equal(s.b.len, 8);
    hk_buf_free(&s.b);
    /* size * nmemb past SIZE_MAX - len is refused, not wrapped */
    hk_curl_sink z = {.max = 4};
    assert_int_equal(hk_curl_sink_write(data, 2, 3, &z), 0);
    assert_true(z.too_big);
    hk_buf_free(&z.b);
    CURL *e = curl_easy_init();
    assert_non_null(e);
    hk_curl_tls(e, true, "/nonexistent/ca.pem");
    hk_curl_tls(e, false, NULL);
    curl_easy_cleanup(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_atomic_write, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_digest, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_strv),
        cmocka_unit_test_setup_teardown(test_remove_tree, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test(test_curl_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Golden tests of the network transforms (src/fix/net_*.c).
 *
 * tests/data/fix/net/<format>/<case>/ holds:
 *   input            the config as the source guest has it
 *   policy           "keep_mac=0|1", "nic OLD NEW MAC" lines ("-" for none),
 *                    optionally "file BASENAME NEWNAME|-" (hk_net_file_rename)
 *   expected         the transformed config (same bytes as input: no change)
 *   notes.expected   the notes, one a line (empty file: none)
 *   scan.expected    optional: what hk_net_scan() finds in input, "NAME MAC" a line
 * Each case is also run on its expected output, which must not change.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "fix/net_xform.h"

#define MAX_NICS 8

typedef struct policy_file {
    hk_nic_rename nics[MAX_NICS];
    char *strs[MAX_NICS * 3];
    size_t n_strs;
    hk_net_policy p;
    char *files[8][2];
    size_t n_files;
} policy_file;

static char *
field(char **save)
{
    char *t = strtok_r(NULL, " \t\r", save);
    assert_non_null(t);
    return strcmp(t, "-") == 0 ? NULL : t;
}

static void
load_policy(const char *path, policy_file *pf)
{
    memset(pf, 0, sizeof(*pf));
    char *text = ts_read_file(path, NULL);
    char *save_line = NULL;
    pf->p.nics = pf->nics;
    for (char *line = strtok_r(text, "\n", &save_line); line;
         line = strtok_r(NULL, "\n", &save_line)) {
        char *save = NULL;
        char *w = strtok_r(line, " \t\r", &save);
        if (!w || w[0] == '#')
            continue;
        if (strcmp(w, "keep_mac=1") == 0) {
            pf->p.keep_mac = true;
        } else if (strcmp(w, "keep_mac=0") == 0) {
            pf->p.keep_mac = false;
        } else if (strcmp(w, "nic") == 0) {
            assert_true(pf->p.n < MAX_NICS);
            hk_nic_rename *nic = &pf->nics[pf->p.n++];
            const char **dst[3] = {&nic->old_name, &nic->new_name, &nic->mac};
            for (int k = 0; k < 3; k++) {
                char *f = field(&save);
                *dst[k] = f ? (pf->strs[pf->n_strs++] = strdup(f)) : NULL;
            }
        } else if (strcmp(w, "file") == 0) {
            assert_true(pf->n_files < 8);
            char *a = field(&save);
            char *b = field(&save);
            pf->files[pf->n_files][0] = strdup(a);
            pf->files[pf->n_files][1] = b ? strdup(b) : NULL;
            pf->n_files++;
        } else {
            fail_msg("%s: unknown policy line '%s'", path, w);
        }
    }
    free(text);
}

static void
free_policy(policy_file *pf)
{
    for (size_t i = 0; i < pf->n_strs; i++)
        free(pf->strs[i]);
    for (size_t i = 0; i < pf->n_files; i++) {
        free(pf->files[i][0]);
        free(pf->files[i][1]);
    }
}

static char *
join_notes(const hk_xform_out *o)
{
    hk_buf b = {0};
    for (size_t i = 0; i < o->n_notes; i++) {
        hk_buf_puts(&b, o->notes[i]);
        hk_buf_puts(&b, "\n");
    }
    return hk_buf_steal(&b);
}

static char *
join_refs(const hk_net_ref *r, size_t n)
{
    hk_buf b = {0};
    for (size_t i = 0; i < n; i++)
        hk_buf_printf(&b, "%s %s\n", r[i].name ? r[i].name : "-", r[i].mac ? r[i].mac : "-");
    return hk_buf_steal(&b);
}

static void
run_case(const char *fmt_dir, hk_net_fmt fmt, const char *name)
{
    char rel[512];
    policy_file pf;
#define CASE_PATH(file) (snprintf(rel, sizeof(rel), "%s/%s/%s", fmt_dir, name, file), rel)
    char *p_policy = ts_join(fmt_dir, name);
    char *tmp = ts_join(p_policy, "policy");
    load_policy(tmp, &pf);
    free(tmp);
    free(p_policy);
    char *input = ts_read_file(CASE_PATH("input"), NULL);
    char *expected = ts_read_file(CASE_PATH("expected"), NULL);
    char *notes_exp = ts_read_file(CASE_PATH("notes.expected"), NULL);

    hk_xform_out out = {0};
    int rc = hk_net_xform(fmt, input, &pf.p, &out);
    if (rc != 0)
        fail_msg("%s/%s: rc %d", hk_net_fmt_name(fmt), name, rc);
    const char *got = out.text ? out.text : input;
    if (strcmp(got, expected) != 0) {
        print_error("%s/%s: output differs; got:\n%s\n---\n", hk_net_fmt_name(fmt), name, got);
        fail();
    }
    if (strcmp(input, expected) == 0)
        assert_null(out.text); /* no change is reported as NULL */
    char *notes = join_notes(&out);
    if (strcmp(notes, notes_exp) != 0) {
        print_error("%s/%s: notes differ; got:\n%s---\n", hk_net_fmt_name(fmt), name, notes);
        fail();
    }
    free(notes);
    hk_xform_out_clear(&out);

    /* idempotence */
    rc = hk_net_xform(fmt, expected, &pf.p, &out);
    assert_int_equal(rc, 0);
    if (out.text)
        print_error("%s/%s: not idempotent:\n%s\n", hk_net_fmt_name(fmt), name, out.text);
    assert_null(out.text);
    hk_xform_out_clear(&out);

    /* file renames */
    for (size_t i = 0; i < pf.n_files; i++) {
        char *nn = hk_net_file_rename(pf.files[i][0], &pf.p);
        if (pf.files[i][1]) {
            assert_non_null(nn);
            assert_string_equal(nn, pf.files[i][1]);
        } else {
            assert_null(nn);
        }
        free(nn);
    }

    /* scanner */
    snprintf(rel, sizeof(rel), "%s/%s/scan.expected", fmt_dir, name);
    if (ts_exists(rel)) {
        char *scan_exp = ts_read_file(rel, NULL);
        hk_net_ref *refs = NULL;
        size_t n = 0;
        assert_int_equal(hk_net_scan(fmt, input, &refs, &n), 0);
        char *s = join_refs(refs, n);
        if (strcmp(s, scan_exp) != 0) {
            print_error("%s/%s: scan differs; got:\n%s---\n", hk_net_fmt_name(fmt), name, s);
            fail();
        }
        free(s);
        free(scan_exp);
        hk_net_refs_free(refs, n);
    }
    free(input);
    free(expected);
    free(notes_exp);
    free_policy(&pf);
#undef CASE_PATH
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_golden(void **state)
{
    (void)state;
    char *root = ts_data_path("fix/net");
    int per_fmt[HK_NET_FMT_COUNT] = {0};
    int total = 0;
    for (int f = 0; f < HK_NET_FMT_COUNT; f++) {
        char *dir = ts_join(root, hk_net_fmt_name((hk_net_fmt)f));
        DIR *d = opendir(dir);
        if (!d)
            fail_msg("missing golden folder %s", dir);
        char *names[256];
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            assert_true(n < 256);
            names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(names[0]), cmp_str);
        for (size_t i = 0; i < n; i++) {
            run_case(dir, (hk_net_fmt)f, names[i]);
            per_fmt[f]++;
            total++;
            free(names[i]);
        }
        free(dir);
    }
    free(root);
    for (int f = 0; f < HK_NET_FMT_COUNT; f++)
        if (per_fmt[f] < 3)
            fail_msg("format %s has only %d golden cases", hk_net_fmt_name((hk_net_fmt)f),
                     per_fmt[f]);
    print_message("net golden cases: %d\n", total);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Table-driven golden tests of the pure text transforms (src/fix/).
 *
 * Layout: tests/data/fix/<transform>/<case>/
 *   input           the file as found in the guest
 *   expected        the transformed file (equal to input: "no change")
 *   notes.expected  optional: the exact notes, one a line (absent: no notes)
 *   devmap.txt      optional: the guest's devices (default: tests/data/fix/devmap.txt)
 *
 * devmap.txt format: '#' comments and blank lines ignored;
 *   disks N
 *   <device> <disk_index> <partition> <uuid> <label> <fstype> <partuuid>
 * where "-" stands for none and "\040"-style octal escapes are decoded.
 *
 * Every case also re-applies the transform to "expected" and requires no
 * change (idempotence).  With H2K_GOLDEN_UPDATE=1 in the environment the
 * expected files are (re)written instead; review them before committing.
 */
#ifndef H2K_XFORM_GOLDEN_H
#define H2K_XFORM_GOLDEN_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "fix/xform.h"

typedef int (*golden_fn)(const char *in, const hk_devmap *map, hk_xform_out *out);
/* Picks the transform of a case from its name (NULL: skip the case). */
typedef golden_fn (*golden_pick)(const char *case_name);

typedef struct golden_devmap {
    hk_devmap map;
    hk_dev *devs;
    char **strings;
    size_t n_strings;
} golden_devmap;

static char *
golden_unescape(const char *tok)
{
    if (strcmp(tok, "-") == 0)
        return NULL;
    char *s = malloc(strlen(tok) + 1);
    assert_non_null(s);
    size_t n = 0;
    for (const char *p = tok; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            s[n++] = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
            p += 3;
        } else {
            s[n++] = *p;
        }
    }
    s[n] = '\0';
    return s;
}

static void
golden_devmap_load(golden_devmap *g, const char *path)
{
    memset(g, 0, sizeof(*g));
    char *text = ts_read_file(path, NULL);
    assert_non_null(text);
    size_t cap = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tok[8];
        int nt = 0;
        char *s2 = NULL;
        if (line[0] == '#')
            continue;
        for (char *t = strtok_r(line, " \t", &s2); t && nt < 8; t = strtok_r(NULL, " \t", &s2))
            tok[nt++] = t;
        if (nt == 0)
            continue;
        if (nt == 2 && strcmp(tok[0], "disks") == 0) {
            g->map.n_disks = atoi(tok[1]);
            continue;
        }
        if (nt != 7)
            fail_msg("%s: bad devmap line (want 7 fields)", path);
        if (g->map.n == cap) {
            cap = cap ? cap * 2 : 8;
            g->devs = realloc(g->devs, cap * sizeof(hk_dev));
            g->strings = realloc(g->strings, cap * 5 * sizeof(char *));
            assert_non_null(g->devs);
            assert_non_null(g->strings);
        }
        hk_dev *d = &g->devs[g->map.n++];
        char *dev = golden_unescape(tok[0]);
        char *uuid = golden_unescape(tok[3]);
        char *label = golden_unescape(tok[4]);
        char *fstype = golden_unescape(tok[5]);
        char *partuuid = golden_unescape(tok[6]);
        d->device = dev;
        d->disk_index = atoi(tok[1]);
        d->partition = atoi(tok[2]);
        d->uuid = uuid;
        d->label = label;
        d->fstype = fstype;
        d->partuuid = partuuid;
        g->strings[g->n_strings++] = dev;
        g->strings[g->n_strings++] = uuid;
        g->strings[g->n_strings++] = label;
        g->strings[g->n_strings++] = fstype;
        g->strings[g->n_strings++] = partuuid;
    }
    free(text);
    g->map.devs = g->devs;
}

static void
golden_devmap_free(golden_devmap *g)
{
    for (size_t i = 0; i < g->n_strings; i++)
        free(g->strings[i]);
    free(g->strings);
    free(g->devs);
    memset(g, 0, sizeof(*g));
}

static int
golden_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
golden_join_notes(const hk_xform_out *o)
{
    hk_buf b = {0};
    for (size_t i = 0; i < o->n_notes; i++) {
        hk_buf_puts(&b, o->notes[i]);
        hk_buf_puts(&b, "\n");
    }
    char *s = hk_buf_steal(&b);
    return s ? s : strdup("");
}

static void
golden_run_case(const char *dir, const char *name, golden_fn fn)
{
    char *in_p = ts_join(dir, "input");
    char *exp_p = ts_join(dir, "expected");
    char *notes_p = ts_join(dir, "notes.expected");
    char *map_p = ts_join(dir, "devmap.txt");
    if (!ts_exists(map_p)) {
        free(map_p);
        map_p = ts_data_path("fix/devmap.txt");
    }
    golden_devmap gm;
    golden_devmap_load(&gm, map_p);

    size_t in_len = 0;
    char *input = ts_read_file(in_p, &in_len);
    assert_non_null(input);
    assert_int_equal(strlen(input), in_len);
    hk_xform_out out = {0};
    int rc = fn(input, &gm.map, &out);
    assert_int_equal(rc, 0);
    const char *result = out.text ? out.text : input;
    char *notes = golden_join_notes(&out);

    if (getenv("H2K_GOLDEN_UPDATE")) {
        ts_write_file(exp_p, result, strlen(result));
        if (out.n_notes > 0)
            ts_write_file(notes_p, notes, strlen(notes));
        else if (ts_exists(notes_p))
            remove(notes_p);
    }

    char *expected = ts_read_file(exp_p, NULL);
    assert_non_null(expected);
    if (strcmp(result, expected) != 0)
        print_error("case %s: output differs.\n--- got:\n%s\n--- want:\n%s\n", name, result,
                    expected);
    assert_string_equal(result, expected);
    /* "no change" must be reported as text == NULL */
    if (strcmp(input, expected) == 0 && out.text)
        fail_msg("case %s: unchanged output must be returned as NULL", name);

    char *want_notes = ts_exists(notes_p) ? ts_read_file(notes_p, NULL) : strdup("");
    if (strcmp(notes, want_notes) != 0)
        print_error("case %s: notes differ.\n--- got:\n%s--- want:\n%s", name, notes, want_notes);
    assert_string_equal(notes, want_notes);

    /* idempotence */
    hk_xform_out again = {0};
    assert_int_equal(fn(expected, &gm.map, &again), 0);
    if (again.text)
        print_error("case %s: not idempotent:\n%s\n", name, again.text);
    assert_null(again.text);
    hk_xform_out_clear(&again);

    free(want_notes);
    free(expected);
    free(notes);
    hk_xform_out_clear(&out);
    assert_null(out.text);
    assert_int_equal(out.n_notes, 0);
    free(input);
    golden_devmap_free(&gm);
    free(in_p);
    free(exp_p);
    free(notes_p);
    free(map_p);
}

/* Runs every case of tests/data/fix/<rel>/; returns the number run. */
static int
golden_run_dir(const char *rel, golden_pick pick)
{
    char *base = ts_data_path(rel);
    DIR *d = opendir(base);
    if (!d)
        fail_msg("cannot open %s", base);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof(char *));
        assert_non_null(names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), golden_cmp);
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        golden_fn fn = pick(names[i]);
        if (fn) {
            char *dir = ts_join(base, names[i]);
            golden_run_case(dir, names[i], fn);
            free(dir);
            ran++;
        }
        free(names[i]);
    }
    free(names);
    free(base);
    return ran;
}

#endif

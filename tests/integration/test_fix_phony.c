/*
 * The offline fixer on the phony guests (scripts/images/build-phony-guests.sh):
 * libguestfs inspection, then every file repair, compared with golden files
 * in tests/data/fix-phony/<guest>/<path with '/' as '%'>; files not listed
 * must not change.  A second run over the repaired guest (same appliance) must
 * change nothing (idempotence), and a dry run must not write to the disk at all.
 * The two-disk guest is repaired all or nothing (atomic): its disks stay
 * unchanged until h2k_offline_fixer_commit() writes the repairs into them.
 * Set H2K_GOLDEN_UPDATE=1 to rewrite the golden files (then review the diff).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

typedef struct phony {
    const char *name;
    const char *os_id;
    const char *os_version;
    const char *hostname;
    h2k_firmware firmware;
    size_t n_disks;
    const char *changed[12]; /* guest files the repair must change (golden) */
} phony;

static const phony guests[] = {
    {"rhel9",
     "rhel",
     "9.3",
     "rhel9-phony",
     H2K_FIRMWARE_BIOS,
     1,
     /* its BLS entry names LVM volumes and an sda3 that does not exist: left alone */
     /* the NetworkManager keyfile and ifcfg pin the MAC the VM keeps: left alone */
     {"/etc/fstab", "/boot/grub2/device.map", "/etc/systemd/network/10-hyper2kvm-ens192.link",
      "/etc/udev/rules.d/70-hyper2kvm-net.rules", "/.autorelabel", NULL}},
    {"sles15",
     "sles",
     "15.5",
     "sles15-phony",
     H2K_FIRMWARE_BIOS,
     1,
     {"/etc/fstab", "/etc/default/grub", "/boot/grub2/grub.cfg",
      "/etc/udev/rules.d/70-persistent-net.rules", "/etc/systemd/network/10-hyper2kvm-eth0.link",
      "/etc/udev/rules.d/70-hyper2kvm-net.rules", NULL}},
    {"ubuntu",
     "ubuntu",
     "22.04",
     "ubuntu-phony",
     H2K_FIRMWARE_BIOS,
     2,
     {"/etc/fstab", "/etc/systemd/network/10-hyper2kvm-ens160.link",
      "/etc/udev/rules.d/70-hyper2kvm-net.rules", NULL}},
    {"uefi",
     "debian",
     "12",
     "uefi-phony",
     H2K_FIRMWARE_UEFI,
     1,
     {"/etc/fstab", "/etc/default/grub", "/boot/grub/grub.cfg",
      "/etc/udev/rules.d/70-persistent-net.rules", "/etc/systemd/network/10-hyper2kvm-ens192.link",
      "/etc/udev/rules.d/70-hyper2kvm-net.rules", NULL}},
};

static char *images[HK_ARRAY_LEN(guests)][2];
static char *workdir;
static char *cache_dir; /* the image cache: the overlays' backing files lie there */

/* A context that may follow the overlays to their backing files in the cache. */
static h2k_ctx *
phony_ctx(void)
{
    h2k_ctx *ctx = ts_ctx();
    ts_assert_rc(ctx, h2k_ctx_allow_path(ctx, cache_dir), 0);
    return ctx;
}

static int
setup(void **state)
{
    (void)state;
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-phony-guests.sh");
    const char *argv[] = {"bash", script, NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("building the phony guests failed:\n%s", out);
    workdir = ts_mkdtemp();
    for (size_t i = 0; i < HK_ARRAY_LEN(guests); i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s ", guests[i].name);
        char *line = strstr(out, key);
        assert_non_null(line);
        line += strlen(key);
        size_t n = strcspn(line, "\n");
        char *base = hk_strndup(line, n);
        if (!cache_dir)
            cache_dir = ts_dir_of(base);
        for (size_t d = 0; d < guests[i].n_disks; d++) {
            /* the fixer writes: work on overlays, the cached images stay pristine */
            char *src = d == 0 ? strdup(base)
                               : hk_asprintf("%.*s-disk%zu.qcow2", (int)(n - 6), base, d + 1);
            char *ov = hk_asprintf("%s/%s-%zu.qcow2", workdir, guests[i].name, d);
            const char *mk[] = {"qemu-img", "create", "-q",    "-f", "qcow2", "-b",
                                src,        "-F",     "qcow2", ov,   NULL};
            ts_run_ok(mk);
            images[i][d] = ov;
            free(src);
        }
        free(base);
    }
    free(out);
    free(script);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < HK_ARRAY_LEN(guests); i++)
        for (size_t d = 0; d < 2; d++)
            free(images[i][d]);
    ts_rmtree(workdir);
    free(workdir);
    free(cache_dir);
    return 0;
}

static char *
golden_path(const phony *g, const char *guest_path)
{
    char *flat = strdup(guest_path + 1);
    for (char *p = flat; *p; p++)
        if (*p == '/')
            *p = '%';
    char *rel = hk_asprintf("fix-phony/%s/%s", g->name, flat);
    char *p = ts_data_path(rel);
    free(rel);
    free(flat);
    return p;
}

static const h2k_file_change *
find_change(h2k_offline_fixer *fx, const char *path)
{
    for (size_t i = 0; i < h2k_offline_fixer_result_count(fx); i++) {
        const h2k_fix_result *r = h2k_offline_fixer_result_at(fx, i);
        for (size_t k = 0; k < r->n_changes; k++)
            if (strcmp(r->changes[k].path, path) == 0)
                return &r->changes[k];
    }
    return NULL;
}

static bool
listed(const phony *g, const char *path)
{
    for (size_t i = 0; g->changed[i]; i++)
        if (strcmp(g->changed[i], path) == 0)
            return true;
    return false;
}

static h2k_offline_fixer *
open_fixer(h2k_ctx *ctx, size_t gi, int dry_run, int atomic)
{
    h2k_fix_options o = H2K_FIX_OPTIONS_INIT;
    o.atomic = atomic;
    /* phony guests have no executables: the initramfs cannot be rebuilt */
    o.fixes = H2K_FIX_ALL & ~(unsigned)H2K_FIX_INITRAMFS;
    o.dry_run = dry_run;
    h2k_offline_fixer *fx = NULL;
    ts_assert_rc(ctx,
                 h2k_offline_fixer_open(ctx, (const char *const *)images[gi], NULL,
                                        guests[gi].n_disks, &o, &fx),
                 0);
    return fx;
}

static void
check_identity(const phony *g, const h2k_guest_identity *id)
{
    assert_int_equal(id->type, H2K_GUEST_LINUX);
    assert_string_equal(id->os_id, g->os_id);
    assert_string_equal(id->os_version, g->os_version);
    assert_string_equal(id->hostname, g->hostname);
    assert_int_equal(id->firmware, g->firmware);
    assert_int_equal(id->n_kernels, 1);
    assert_int_equal(id->kernels[0].has_virtio_blk, 1);
}

static void
check_dry_run(size_t gi)
{
    const phony *g = &guests[gi];
    h2k_ctx *ctx = phony_ctx();
    char before[65], after[65];
    ts_sha256_file(images[gi][0], before);
    h2k_offline_fixer *fx = open_fixer(ctx, gi, 1, 0);
    int rc = h2k_offline_fixer_run_all(fx);
    assert_true(rc == 0 || rc == H2K_ERR_FIXER);
    for (size_t i = 0; g->changed[i]; i++)
        if (!find_change(fx, g->changed[i]))
            fail_msg("%s: dry run does not report %s", g->name, g->changed[i]);
    char *md = h2k_offline_fixer_report_markdown(fx);
    assert_non_null(strstr(md, "(dry run)"));
    free(md);
    assert_int_equal(h2k_offline_fixer_close(fx), 0);
    ts_sha256_file(images[gi][0], after);
    assert_string_equal(before, after); /* not a byte written */
    h2k_ctx_free(ctx);
}

static void
run_guest(size_t gi)
{
    const phony *g = &guests[gi];
    bool update = getenv("H2K_GOLDEN_UPDATE") != NULL;
    h2k_ctx *ctx = phony_ctx();
    /* the two-disk guest runs all or nothing: its disks change only at the commit */
    bool atomic = g->n_disks > 1;
    char before[4][65], sum[65];
    for (size_t d = 0; d < g->n_disks; d++)
        ts_sha256_file(images[gi][d], before[d]);

    h2k_offline_fixer *fx = open_fixer(ctx, gi, 0, atomic);
    check_identity(g, h2k_offline_fixer_identity(fx));
    int rc = h2k_offline_fixer_run_all(fx);
    if (rc < 0)
        print_message("%s: %s\n", g->name, h2k_ctx_last_error(ctx)->message);
    size_t first_run = h2k_offline_fixer_result_count(fx);
    for (size_t i = 0; i < first_run; i++) {
        const h2k_fix_result *r = h2k_offline_fixer_result_at(fx, i);
        if (r->status == H2K_FIX_STATUS_FAILED)
            fail_msg("%s: %s failed: %s", g->name, h2k_fix_kind_name(r->kind), r->message);
        for (size_t k = 0; k < r->n_changes; k++) {
            const h2k_file_change *c = &r->changes[k];
            if (!c->after)
                continue; /* deletions (VMware tools) */
            if (!listed(g, c->path))
                fail_msg("%s: unexpected change of %s", g->name, c->path);
            char *gp = golden_path(g, c->path);
            if (update) {
                char *dir = hk_dirname(gp);
                mkdir(dir, 0755);
                free(dir);
                ts_write_file(gp, c->after, strlen(c->after));
            } else {
                if (!ts_exists(gp))
                    fail_msg("%s: golden file missing: %s", g->name, gp);
                char *want = ts_read_file(gp, NULL);
                if (strcmp(want, c->after) != 0)
                    fail_msg("%s: %s differs from %s:\n%s", g->name, c->path, gp, c->after);
                free(want);
            }
            free(gp);
        }
    }
    for (size_t i = 0; g->changed[i]; i++)
        if (!find_change(fx, g->changed[i]))
            fail_msg("%s: %s was not changed", g->name, g->changed[i]);
    char *json = h2k_offline_fixer_report_json(fx);
    assert_non_null(strstr(json, "\"fixes\""));
    free(json);

    /* idempotence: a second run over the repaired files changes nothing */
    ts_assert_rc(ctx, h2k_offline_fixer_run_all(fx), 0);
    for (size_t i = first_run; i < h2k_offline_fixer_result_count(fx); i++) {
        const h2k_fix_result *r = h2k_offline_fixer_result_at(fx, i);
        if (r->n_changes)
            fail_msg("%s: second run of %s changed %s", g->name, h2k_fix_kind_name(r->kind),
                     r->changes[0].path);
    }
    if (atomic) {
        for (size_t d = 0; d < g->n_disks; d++) {
            ts_sha256_file(images[gi][d], sum);
            if (strcmp(sum, before[d]) != 0)
                fail_msg("%s: disk %zu written before the commit", g->name, d + 1);
        }
        ts_assert_rc(ctx, h2k_offline_fixer_commit(fx), 0);
        ts_sha256_file(images[gi][0], sum); /* /etc/fstab lives there */
        if (strcmp(sum, before[0]) == 0)
            fail_msg("%s: the commit did not write the repairs into disk 1", g->name);
        h2k_fix_result *r = NULL;
        ts_assert_rc(ctx, h2k_offline_fixer_fix_fstab(fx, &r), H2K_ERR_INVALID_ARG);
        assert_null(r);
        assert_true(h2k_offline_fixer_result_count(fx) > first_run); /* results stay */
    }
    assert_int_equal(h2k_offline_fixer_close(fx), 0);
    h2k_ctx_free(ctx);
}

/* A disk qemu cannot write in place (streamOptimized) is refused before any
 * appliance starts, all or nothing or not, and no work folder is left behind;
 * a wrong options version is refused too. */
static void
test_atomic_refusals(void **state)
{
    (void)state;
    h2k_ctx *ctx = phony_ctx();
    char *tmp = ts_join(workdir, "tmp");
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_equal(h2k_ctx_set_tmpdir(ctx, tmp), 0);
    char *so = ts_join(workdir, "stream.vmdk");
    const char *mk[] = {
        "qemu-img",   "convert", "-q", "-O", "vmdk", "-o", "subformat=streamOptimized",
        images[0][0], so,        NULL};
    ts_run_ok(mk);
    char before[65], after[65];
    ts_sha256_file(so, before);
    h2k_fix_options o = H2K_FIX_OPTIONS_INIT;
    o.atomic = 1;
    const char *disks[] = {so};
    h2k_offline_fixer *fx = NULL;
    double t0 = hk_now();
    ts_assert_rc(ctx, h2k_offline_fixer_open(ctx, disks, NULL, 1, &o, &fx), H2K_ERR_UNSUPPORTED);
    assert_null(fx);
    assert_true(hk_now() - t0 < 10); /* refused before the appliance launch */
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_string_equal(e->source_path, so);
    assert_non_null(strstr(e->message, "streamOptimized"));
    assert_int_equal(ts_count_dir(tmp), 0);
    o.atomic = 0; /* written directly: refused all the same */
    ts_assert_rc(ctx, h2k_offline_fixer_open(ctx, disks, NULL, 1, &o, &fx), H2K_ERR_UNSUPPORTED);
    assert_null(fx);
    ts_sha256_file(so, after);
    assert_string_equal(before, after);

    o.version = 99;
    ts_assert_rc(ctx, h2k_offline_fixer_open(ctx, disks, NULL, 1, &o, &fx), H2K_ERR_INVALID_ARG);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "version 99"));
    h2k_ctx_free(ctx);
    free(so);
    free(tmp);
}

/* The seed's OfflineFSFix(image, guest_identity=guest): an identity the caller
 * already has is taken as given (its marked hostname shows that no detection
 * replaced it) and the repairs work from it as from a detected one. */
static void
test_given_identity(void **state)
{
    (void)state;
    const phony *g = &guests[0];
    h2k_ctx *ctx = phony_ctx();
    h2k_offline_fixer *first = open_fixer(ctx, 0, 1, 0);
    h2k_guest_identity given = *h2k_offline_fixer_identity(first); /* shallow: borrowed */
    char mark[] = "given-by-the-caller";
    given.hostname = mark;
    h2k_fix_options o = H2K_FIX_OPTIONS_INIT;
    o.fixes = H2K_FIX_ALL & ~(unsigned)H2K_FIX_INITRAMFS;
    o.dry_run = 1;
    o.guest_identity = &given;
    h2k_offline_fixer *fx = NULL;
    ts_assert_rc(ctx,
                 h2k_offline_fixer_open(ctx, (const char *const *)images[0], NULL, g->n_disks, &o,
                                        &fx),
                 0);
    assert_int_equal(h2k_offline_fixer_close(first), 0); /* the copy outlives the original */
    const h2k_guest_identity *id = h2k_offline_fixer_identity(fx);
    assert_ptr_not_equal(id, &given);
    assert_string_equal(id->hostname, mark);
    assert_string_equal(id->os_id, g->os_id);
    int rc = h2k_offline_fixer_run_all(fx);
    assert_true(rc == 0 || rc == H2K_ERR_FIXER);
    for (size_t i = 0; g->changed[i]; i++)
        if (!find_change(fx, g->changed[i]))
            fail_msg("%s: with a given identity, %s is not reported", g->name, g->changed[i]);
    assert_int_equal(h2k_offline_fixer_close(fx), 0);
    h2k_ctx_free(ctx);
}

static void
test_rhel9(void **s)
{
    (void)s;
    run_guest(0);
}
static void
test_sles15(void **s)
{
    (void)s;
    run_guest(1);
}
static void
test_ubuntu(void **s)
{
    (void)s;
    run_guest(2);
}
static void
test_uefi(void **s)
{
    (void)s;
    run_guest(3);
}
static void
test_dry_run(void **s)
{
    (void)s;
    check_dry_run(0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dry_run), /* first: on the pristine rhel9 overlay */
        cmocka_unit_test(test_atomic_refusals),
        cmocka_unit_test(test_given_identity), /* dry runs too: before the repairs */
        cmocka_unit_test(test_rhel9),
        cmocka_unit_test(test_sles15),
        cmocka_unit_test(test_ubuntu),
        cmocka_unit_test(test_uefi),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

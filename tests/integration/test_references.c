/*
 * What an input may name, through the real CLI ("local", no repairs) and
 * qemu-img: extents, backing files and VMX disks that lead out of the input's
 * folder (absolute, "..", symlinks), devices, FIFOs, and "file:"/"json:"
 * backing names are refused with a message naming the reference, the file
 * and --allow-path, and nothing is written; the same inputs migrate once the
 * folder is allowed.  Files whose name claims a format their content lacks are
 * refused unless the caller says raw.  Outputs are 0600 (or the caller's
 * mode), never wider than the source, whatever the umask.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

typedef struct fx {
    char *root, *vm, *other, *out, *data, *outside;
} fx;

/* root/vm (the inputs), root/other/data.raw (1 MiB of data outside), root/out */
static void
fx_make(fx *f)
{
    f->root = ts_mkdtemp();
    f->vm = ts_join(f->root, "vm");
    f->other = ts_join(f->root, "other");
    f->out = ts_join(f->root, "out");
    assert_int_equal(mkdir(f->vm, 0700), 0);
    assert_int_equal(mkdir(f->other, 0700), 0);
    f->data = ts_join(f->vm, "data.raw");
    f->outside = ts_join(f->other, "data.raw");
    ts_make_random_raw(f->data, "1M");
    ts_make_random_raw(f->outside, "1M");
}

static void
fx_free(fx *f)
{
    ts_rmtree(f->root);
    free(f->root);
    free(f->vm);
    free(f->other);
    free(f->out);
    free(f->data);
    free(f->outside);
}

static char *
write_text(const char *dir, const char *name, const char *text)
{
    char *p = ts_join(dir, name);
    ts_write_file(p, text, strlen(text));
    return p;
}

/* A monolithicFlat descriptor with one extent of @sectors named @extent. */
static char *
flat_descriptor_n(const char *dir, const char *name, const char *extent, unsigned sectors)
{
    char *text = hk_asprintf("# Disk DescriptorFile\nversion=1\nCID=12345678\n"
                             "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
                             "RW %u FLAT \"%s\" 0\nddb.virtualHWVersion = \"14\"\n"
                             "ddb.geometry.cylinders = \"2\"\nddb.geometry.heads = \"16\"\n"
                             "ddb.geometry.sectors = \"63\"\nddb.adapterType = \"lsilogic\"\n",
                             sectors, extent);
    char *p = write_text(dir, name, text);
    free(text);
    return p;
}

/* The same with one 1 MiB extent. */
static char *
flat_descriptor(const char *dir, const char *name, const char *extent)
{
    return flat_descriptor_n(dir, name, extent, 2048);
}

static char *
vmx_naming(const char *dir, const char *disk)
{
    char *text = hk_asprintf("config.version = \"8\"\nvirtualHW.version = \"14\"\n"
                             "displayName = \"refvm\"\nguestOS = \"debian10-64\"\n"
                             "memSize = \"512\"\nnumvcpus = \"1\"\nscsi0.present = \"TRUE\"\n"
                             "scsi0.virtualDev = \"lsilogic\"\nscsi0:0.present = \"TRUE\"\n"
                             "scsi0:0.fileName = \"%s\"\n",
                             disk);
    char *p = write_text(dir, "refvm.vmx", text);
    free(text);
    return p;
}

/* A qcow2 overlay whose backing name is @backing (not checked by qemu-img). */
static char *
qcow2_backed_by(const char *dir, const char *name, const char *backing)
{
    char *p = ts_join(dir, name);
    const char *argv[] = {"qemu-img", "create", "-q",  "-f", "qcow2", "-u", "-b",
                          backing,    "-F",     "raw", p,    "1M",    NULL};
    ts_run_ok(argv);
    return p;
}

/* Runs "hyper2kvm [--allow-path A] --json local --input IN ..." and returns
 * its exit status; *text gets its output (caller frees). */
static int
cli_local(const char *allow, const char *in, const char *out, char **text)
{
    const char *argv[16];
    size_t n = 0;
    argv[n++] = ts_env("H2K_CLI");
    if (allow) {
        argv[n++] = "--allow-path";
        argv[n++] = allow;
    }
    const char *rest[] = {"--json", "local",   "--input", in,  "--output-dir",
                          out,      "--fixes", "none",    NULL};
    for (size_t i = 0; rest[i]; i++)
        argv[n++] = rest[i];
    argv[n] = NULL;
    *text = NULL;
    return ts_run(argv, text);
}

/* The CLI refuses @in: exit 10+|code|, every needle in the message, no output. */
static void
expect_refused(const fx *f, const char *in, int code, const char *const *needles)
{
    char *text = NULL;
    double t0 = hk_now();
    int st = cli_local(NULL, in, f->out, &text);
    if (st != 10 - code)
        print_error("%s: exit %d, want %d: %s\n", in, st, 10 - code, text ? text : "");
    assert_int_equal(st, 10 - code);
    assert_true(hk_now() - t0 < 30); /* a FIFO must not block */
    assert_non_null(strstr(text, "\"stage\":\"probe\""));
    for (size_t i = 0; needles[i]; i++)
        if (!strstr(text, needles[i]))
            fail_msg("\"%s\" not in the error: %s", needles[i], text);
    assert_false(ts_exists(f->out));
    free(text);
}

static void
test_cli_refuses_escapes(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    fx f;
    fx_make(&f);
    const char *allow_hint = "--allow-path DIR";

    /* the case of the report: an extent naming the host's shadow file (one
     * sector, so no size check can catch it) */
    char *d = flat_descriptor_n(f.vm, "shadow.vmdk", "/etc/shadow", 1);
    expect_refused(&f, d, H2K_ERR_VALIDATION,
                   (const char *[]){"\\\"/etc/shadow\\\"", "shadow.vmdk", allow_hint, NULL});
    free(d);
    d = flat_descriptor(f.vm, "dotdot.vmdk", "../other/data.raw");
    expect_refused(&f, d, H2K_ERR_VALIDATION,
                   (const char *[]){"../other/data.raw", "dotdot.vmdk", allow_hint, NULL});
    free(d);
    char *link = ts_join(f.vm, "link.raw");
    assert_int_equal(symlink(f.outside, link), 0);
    d = flat_descriptor(f.vm, "link.vmdk", "link.raw");
    expect_refused(&f, d, H2K_ERR_VALIDATION,
                   (const char *[]){"symbolic link", "link.vmdk", allow_hint, NULL});
    free(d);
    d = flat_descriptor(f.vm, "zero.vmdk", "/dev/zero");
    expect_refused(&f, d, H2K_ERR_VALIDATION,
                   (const char *[]){"/dev/zero", "zero.vmdk", allow_hint, NULL});
    free(d);
    char *fifo = ts_join(f.vm, "fifo.raw");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    d = flat_descriptor(f.vm, "fifo.vmdk", "fifo.raw");
    expect_refused(&f, d, H2K_ERR_FORMAT, (const char *[]){"FIFO", "fifo.vmdk", NULL});
    free(d);

    /* backing names qemu would read as protocols, and a FIFO backing file;
     * "file:/etc/hostname" exists as a local file, which a probe taking the
     * name as a path would check while qemu reads the host's /etc/hostname */
    char *fdir = ts_join(f.vm, "file:");
    char *fetc = ts_join(fdir, "etc");
    char *fhost = ts_join(fetc, "hostname");
    assert_int_equal(mkdir(fdir, 0700), 0);
    assert_int_equal(mkdir(fetc, 0700), 0);
    ts_make_random_raw(fhost, "1M");
    free(fdir);
    free(fetc);
    free(fhost);
    char *q = qcow2_backed_by(f.vm, "file.qcow2", "file:/etc/hostname");
    expect_refused(&f, q, H2K_ERR_UNSUPPORTED,
                   (const char *[]){"file:/etc/hostname", "file.qcow2", "protocol", NULL});
    free(q);
    q = qcow2_backed_by(f.vm, "json.qcow2",
                        "json:{\"driver\":\"file\",\"filename\":\"/etc/hostname\"}");
    expect_refused(&f, q, H2K_ERR_UNSUPPORTED, (const char *[]){"json:", "json.qcow2", NULL});
    free(q);
    q = qcow2_backed_by(f.vm, "abs.qcow2", "/etc/hostname");
    expect_refused(&f, q, H2K_ERR_VALIDATION,
                   (const char *[]){"/etc/hostname", "abs.qcow2", allow_hint, NULL});
    free(q);
    q = qcow2_backed_by(f.vm, "fifo.qcow2", "fifo.raw");
    expect_refused(&f, q, H2K_ERR_FORMAT, (const char *[]){"FIFO", "fifo.qcow2", NULL});
    free(q);

    /* a VMX naming the shadow file, or a disk outside its folder */
    char *vmx = vmx_naming(f.vm, "/etc/shadow");
    expect_refused(&f, vmx, H2K_ERR_VALIDATION,
                   (const char *[]){"/etc/shadow", "refvm.vmx", "fileName", allow_hint, NULL});
    free(vmx);
    vmx = vmx_naming(f.vm, f.outside);
    expect_refused(&f, vmx, H2K_ERR_VALIDATION, (const char *[]){"refvm.vmx", allow_hint, NULL});

    /* an OVF whose disk folder is a symbolic link leading out */
    char *ovfsrc = ts_data_path("ovf/full.ovf");
    size_t ovflen = 0;
    char *ovftext = ts_read_file(ovfsrc, &ovflen);
    char *ovf = ts_join(f.vm, "full.ovf");
    ts_write_file(ovf, ovftext, ovflen);
    char *ddir = ts_join(f.vm, "disks");
    assert_int_equal(symlink(f.other, ddir), 0);
    expect_refused(&f, ovf, H2K_ERR_VALIDATION,
                   (const char *[]){"disks/a.vmdk", "full.ovf", "href", "symbolic link", allow_hint,
                                    NULL});
    free(ovfsrc);
    free(ovftext);
    free(ovf);
    free(ddir);

    /* the same references migrate once their folder is allowed */
    char *text = NULL;
    int st = cli_local(f.other, vmx, f.out, &text);
    if (st != 0)
        print_error("%s\n", text);
    assert_int_equal(st, 0);
    free(text);
    char *disk = ts_join(f.out, "refvm-disk1.qcow2");
    ts_qemu_img_compare(f.outside, "raw", disk, "qcow2");
    ts_rmtree(f.out);
    d = flat_descriptor(f.vm, "dotdot.vmdk", "../other/data.raw");
    st = cli_local(f.other, d, f.out, &text);
    if (st != 0)
        print_error("%s\n", text);
    assert_int_equal(st, 0);
    free(text);
    free(disk);
    disk = ts_join(f.out, "dotdot-disk1.qcow2");
    ts_qemu_img_compare(f.outside, "raw", disk, "qcow2");
    ts_rmtree(f.out);
    /* and a reference inside the folder needs nothing */
    free(d);
    d = flat_descriptor(f.vm, "inside.vmdk", "data.raw");
    st = cli_local(NULL, d, f.out, &text);
    if (st != 0)
        print_error("%s\n", text);
    assert_int_equal(st, 0);
    free(text);
    free(disk);
    disk = ts_join(f.out, "inside-disk1.qcow2");
    ts_qemu_img_compare(f.data, "raw", disk, "qcow2");

    free(disk);
    free(d);
    free(vmx);
    free(fifo);
    free(link);
    fx_free(&f);
}

/* Runs the library on @in (no repairs) with @input_format and @mode. */
static int
run_api(const char *in, const char *out, const char *input_format, unsigned mode,
        h2k_migration_result **res)
{
    h2k_ctx *ctx = ts_ctx();
    const char *inputs[] = {in};
    h2k_run_options o = H2K_RUN_OPTIONS_INIT;
    o.inputs = inputs;
    o.n_inputs = 1;
    o.output_dir = out;
    o.fixes = 0;
    o.name = "vm";
    o.input_format = input_format;
    o.output_mode = mode;
    int rc = h2k_orchestrator_run(ctx, &o, res);
    if (rc < 0)
        print_message("run: %s\n", h2k_ctx_last_error(ctx)->message);
    h2k_ctx_free(ctx);
    return rc;
}

static void
test_format_claims(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    fx f;
    fx_make(&f);
    /* 4 KiB of garbage named disk.vmdk */
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 31 + 1);
    char *g = ts_join(f.vm, "garbage.vmdk");
    ts_write_file(g, junk, sizeof(junk));
    expect_refused(&f, g, H2K_ERR_FORMAT,
                   (const char *[]){"garbage.vmdk", "vmdk", "signature", "--input-format raw",
                                    NULL});
    /* a sparse VMDK whose magic is damaged */
    char *s = ts_join(f.vm, "sparse.vmdk");
    const char *mk[] = {"qemu-img", "create", "-q", "-f", "vmdk", s, "1M", NULL};
    ts_run_ok(mk);
    int fd = open(s, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "KDMW", 4, 0), 4);
    close(fd);
    expect_refused(&f, s, H2K_ERR_FORMAT, (const char *[]){"sparse.vmdk", "4b 44 4d 57", NULL});
    /* raw when the caller says so */
    h2k_migration_result *res = NULL;
    assert_int_equal(run_api(g, f.out, "raw", 0, &res), 0);
    assert_int_equal(res->success, 1);
    h2k_migration_result_free(res);
    char *disk = ts_join(f.out, "vm-disk1.qcow2");
    ts_qemu_img_compare(g, "raw", disk, "qcow2");
    free(disk);
    free(g);
    free(s);
    fx_free(&f);
}

static unsigned
mode_of(const char *dir, const char *name)
{
    char *p = ts_join(dir, name);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    free(p);
    return st.st_mode & 0777;
}

static void
test_output_modes(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    fx f;
    fx_make(&f);
    mode_t old = umask(022);
    static const struct {
        unsigned src, asked, want;
    } cases[] = {
        {0644, 0, 0600},    /* default: private */
        {0644, 0640, 0640}, /* the caller's mode */
        {0600, 0644, 0600}, /* never wider than the source */
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(cases); i++) {
        assert_int_equal(chmod(f.data, cases[i].src), 0);
        h2k_migration_result *res = NULL;
        assert_int_equal(run_api(f.data, f.out, NULL, cases[i].asked, &res), 0);
        h2k_migration_result_free(res);
        assert_int_equal(mode_of(f.out, "vm-disk1.qcow2"), cases[i].want);
        assert_int_equal(mode_of(f.out, "vm.xml"), cases[i].want);
        assert_int_equal(mode_of(f.out, "vm.report.json"), cases[i].want);
        assert_int_equal(mode_of(f.out, "vm.report.md"), cases[i].want);
        ts_rmtree(f.out);
    }
    umask(old);
    fx_free(&f);
}

/* An overlay we write may name its source wherever it lies: the context that
 * wrote it follows it; another context refuses it like any escape. */
static void
test_own_overlay(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    fx f;
    fx_make(&f);
    char *ov = ts_join(f.other, "overlay.qcow2");
    h2k_ctx *ctx = ts_ctx();
    mode_t old = umask(022);
    ts_assert_rc(ctx, hk_qcow2_overlay(ctx, f.data, "raw", ov), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(ov, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, ov, NULL, &info), 0);
    assert_int_equal(info->n_layers, 2);
    assert_string_equal(info->layers[1].path, f.data);
    h2k_disk_info_free(info);
    h2k_ctx *other = ts_ctx();
    ts_assert_rc(other, h2k_disk_probe(other, ov, NULL, &info), H2K_ERR_VALIDATION);
    assert_non_null(strstr(h2k_ctx_last_error(other)->message, "--allow-path"));
    h2k_ctx_free(other);
    h2k_ctx_free(ctx);
    free(ov);
    fx_free(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_refuses_escapes),
        cmocka_unit_test(test_format_claims),
        cmocka_unit_test(test_output_modes),
        cmocka_unit_test(test_own_overlay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

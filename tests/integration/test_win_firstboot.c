/*
 * Windows first boot installed into a phony Windows disk through libguestfs
 * and the registry layer, then read back from the closed image on the host
 * with other readers: ntfs-3g's ntfsls/ntfscat and libhivex.
 *   - the disk: an NTFS file system (mkntfs on the host, no partition table:
 *     the ntfs-3g tools read it as it is) with a SYSTEM hive built from the
 *     shared minimal hive and windows-system.reg, and a "PROGRAM FILES"
 *     folder spelled unlike Windows does (the install must find it);
 *   - a hostile product code is refused and changes nothing;
 *   - a dry run records the files and registry values and writes nothing;
 *   - the install writes the helper, the steps and the service key; a second
 *     run changes nothing;
 *   - read back: the service key's values against
 *     tests/data/windows-firstboot/install/service.txt, the folder listing
 *     against install/files.txt, each step against its golden file, the
 *     helper byte for byte.
 * And on the phony Windows Server 2022 guest of
 * scripts/images/build-windows-phony.sh (an overlay of it): the inspection's
 * facts (version, arch, VMware Tools product code, the static adapter in
 * ControlSet002) fill the configuration, the service lands in the current
 * control set, read back with libhivex against install/win2k22-service.txt
 * and the network step against install/win2k22-network.ps1.
 * One appliance launch per case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hivex.h>

#include "testsupport.h"

#include "fix/fixer_internal.h"
#include "fix/win_firstboot.h"
#include "guest/gfs.h"
#include "guest/win_registry.h"

#define SYSTEM_PATH "/Windows/System32/config/SYSTEM"
#define FB_DIR "/PROGRAM FILES/hyper2kvm/firstboot"

static const hk_win_ip nic1_addr[] = {{"192.0.2.10", 24},
                                      {"192.0.2.11", 24},
                                      {"2001:DB8:0:0::10", 64}};
static const char *const nic1_gw[] = {"192.0.2.1", "2001:db8::1"};
static const char *const nic1_dns[] = {"192.0.2.53", "198.51.100.53", "2001:db8::53"};
static const hk_win_ip nic3_addr[] = {{"10.1.2.3", 16}};
static const hk_win_nic nics[] = {
    {"00:50:56:aa:bb:01", false, nic1_addr, 3, nic1_gw, 2, nic1_dns, 3},
    {"00-50-56-AA-BB-02", true, NULL, 0, NULL, 0, NULL, 0},
    {"00:50:56:aa:bb:03", false, nic3_addr, 1, NULL, 0, NULL, 0},
};

/* What the inspection of a Windows Server 2019 guest would give. */
static hk_win_firstboot
config(void)
{
    hk_win_firstboot fb = {0};
    fb.os = (hk_win_version){10, 0, 17763, true, HK_WIN_ARCH_X64};
    fb.driver_dir = "C:\\Program Files\\hyper2kvm\\drivers";
    fb.vmware_tools_code = "fe2f6a2c-196e-4210-9c04-2b1bc21f07ef";
    fb.nics = nics;
    fb.n_nics = 3;
    fb.disks_online = true;
    fb.reboot_if_needed = true;
    return fb;
}

static char *
make_system_hive(const char *dir)
{
    char *src = ts_shared_path("testdata/phony-guests/minimal-hive");
    char *reg = ts_shared_path("testdata/phony-guests/windows-system.reg");
    char *hive = ts_join(dir, "SYSTEM");
    size_t len = 0;
    char *data = ts_read_file(src, &len);
    ts_write_file(hive, data, len);
    free(data);
    const char *argv[] = {
        "hivexregedit", "--merge", hive, "--prefix", "HKEY_LOCAL_MACHINE\\SYSTEM", reg, NULL};
    ts_run_ok(argv);
    free(src);
    free(reg);
    return hive;
}

static void
gfs_ok(hk_gfs *gfs, int r, const char *what)
{
    if (r < 0)
        fail_msg("%s: %s", what, guestfs_last_error(gfs->g));
}

/* One install on the handle; returns the code, the file result and the
 * registry records through the out parameters. */
static int
install(ts_fixture *tf, hk_gfs *gfs, bool dry_run, const hk_win_firstboot *fb,
        h2k_fix_result **res_out, size_t *n_reg)
{
    h2k_offline_fixer fx;
    memset(&fx, 0, sizeof(fx));
    fx.ctx = tf->ctx;
    fx.gfs = gfs;
    fx.opts.dry_run = dry_run;
    h2k_fix_result *res = hk_fix_begin(&fx, H2K_FIX_VMWARE_TOOLS);
    assert_non_null(res);
    hk_hive *h = NULL;
    assert_int_equal(hk_hive_open_guest(tf->ctx, gfs->g, SYSTEM_PATH, "SYSTEM", tf->dir, true,
                                        dry_run, &h),
                     0);
    int rc = hk_win_firstboot_install(&fx, res, h, NULL, fb);
    if (rc < 0)
        fprintf(stderr, "install: %d: %s\n", rc, h2k_ctx_last_error(tf->ctx)->message);
    if (rc == 0)
        assert_int_equal(hk_hive_commit(h), 0);
    else
        assert_false(hk_hive_dirty(h));
    hk_hive_changes(h, n_reg);
    for (size_t i = 0; i < *n_reg; i++) {
        const hk_reg_change *c = &hk_hive_changes(h, n_reg)[i];
        assert_string_equal(c->hive, "SYSTEM");
        assert_non_null(strstr(c->key, "ControlSet001\\Services\\hyper2kvm-firstboot"));
    }
    hk_hive_close(h);
    *res_out = res;
    return rc;
}

/* The service key as "Name TYPE data" lines sorted by name, read with libhivex. */
static char *
dump_service_in(const char *hive_path, const char *cset)
{
    hive_h *h = hivex_open(hive_path, 0);
    assert_non_null(h);
    hive_node_h node = hivex_root(h);
    const char *path[] = {cset, "Services", "hyper2kvm-firstboot"};
    for (size_t i = 0; i < 3 && node; i++)
        node = hivex_node_get_child(h, node, path[i]);
    assert_true(node != 0);
    hive_value_h *vals = hivex_node_values(h, node);
    assert_non_null(vals);
    size_t n = 0;
    while (vals[n])
        n++;
    char **lines = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        char *name = hivex_value_key(h, vals[i]);
        hive_type t;
        size_t len;
        assert_int_equal(hivex_value_type(h, vals[i], &t, &len), 0);
        if (t == hive_t_REG_DWORD) {
            lines[i] = hk_asprintf("%s REG_DWORD 0x%x", name,
                                   (unsigned)hivex_value_dword(h, vals[i]));
        } else {
            assert_true(t == hive_t_REG_SZ || t == hive_t_REG_EXPAND_SZ);
            char *s = hivex_value_string(h, vals[i]);
            lines[i] = hk_asprintf("%s %s %s", name,
                                   t == hive_t_REG_SZ ? "REG_SZ" : "REG_EXPAND_SZ", s);
            free(s);
        }
        free(name);
    }
    free(vals);
    hivex_close(h);
    /* sorted, so that the order the values were written in does not matter */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *t = lines[j];
            lines[j] = lines[j - 1];
            lines[j - 1] = t;
        }
    hk_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        hk_buf_printf(&b, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    return hk_buf_steal(&b);
}

/* ntfscat IMAGE PATH > OUT (ntfs-3g reads the image itself, no appliance). */
static void
ntfscat(const char *image, const char *path, const char *out)
{
    ts_require_program("ntfscat");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(126);
        execlp("ntfscat", "ntfscat", image, path, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("ntfscat %s %s failed (status %d)", image, path, st);
}

static void
compare_golden(const char *rel, const char *got)
{
    char *path = ts_data_path(rel);
    if (getenv("H2K_GOLDEN_UPDATE")) {
        ts_write_file(path, got, strlen(got));
    } else {
        char *want = ts_read_file(path, NULL);
        if (strcmp(want, got) != 0)
            fail_msg("%s differs; got:\n%s", path, got);
        free(want);
    }
    free(path);
}

static void
test_install(void **state)
{
    ts_fixture *tf = *state;
    ts_require_program("hivexregedit");
    char *hive = make_system_hive(tf->dir);
    char *disk = ts_join(tf->dir, "windows.img");
    int fd = open(disk, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 64 << 20), 0);
    close(fd);
    const char *mkntfs[] = {"mkntfs", "-F", "-Q", "-q", "-L", "phony", disk, NULL};
    ts_run_ok(mkntfs);

    /* 1. the phony disk, and the install on the same appliance */
    const char *disks[] = {disk};
    const char *formats[] = {"raw"};
    hk_gfs *gfs = NULL;
    assert_int_equal(hk_gfs_open(tf->ctx, disks, formats, 1, false, &gfs), 0);
    guestfs_h *g = gfs->g;
    gfs_ok(gfs, guestfs_mount(g, "/dev/sda", "/"), "mount");
    gfs_ok(gfs, guestfs_mkdir_p(g, "/Windows/System32/config"), "mkdir");
    gfs_ok(gfs, guestfs_mkdir_p(g, "/PROGRAM FILES"), "mkdir");
    gfs_ok(gfs, guestfs_upload(g, hive, SYSTEM_PATH), "upload SYSTEM");

    hk_win_firstboot fb = config();
    h2k_fix_result *res = NULL;
    size_t n_reg = 0;

    /* 2. a hostile product code: refused, nothing written */
    fb.vmware_tools_code = "{FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}\" & format C: /q & \"";
    assert_int_equal(install(tf, gfs, false, &fb, &res, &n_reg), H2K_ERR_VALIDATION);
    assert_non_null(strstr(h2k_ctx_last_error(tf->ctx)->message, "refused"));
    assert_string_equal(h2k_ctx_last_error(tf->ctx)->field, "vmware_tools_code");
    assert_int_equal(n_reg, 0);
    assert_int_equal(res->n_changes, 0);
    assert_int_equal(guestfs_is_dir(g, "/PROGRAM FILES/hyper2kvm"), 0);
    h2k_fix_result_free(res);
    fb = config();

    /* 3. a dry run: everything recorded, nothing written */
    assert_int_equal(install(tf, gfs, true, &fb, &res, &n_reg), 0);
    assert_int_equal(res->n_changes, 5);
    assert_int_equal(n_reg, 9); /* the key and its eight values */
    assert_int_equal(guestfs_is_dir(g, "/PROGRAM FILES/hyper2kvm"), 0);
    h2k_fix_result_free(res);

    /* 4. the install */
    assert_int_equal(install(tf, gfs, false, &fb, &res, &n_reg), 0);
    assert_int_equal(res->status, H2K_FIX_STATUS_CHANGED);
    assert_int_equal(res->n_changes, 5);
    assert_int_equal(n_reg, 9);
    assert_string_equal(res->changes[0].path, FB_DIR "/h2kfirstboot.exe");
    assert_string_equal(res->changes[0].action, "created");
    assert_non_null(strstr(res->changes[0].notes[0], "SHA-256"));
    assert_string_equal(res->changes[1].path, FB_DIR "/scripts/0010-virtio-drivers.cmd");
    h2k_fix_result_free(res);

    /* 5. a second run changes nothing */
    assert_int_equal(install(tf, gfs, false, &fb, &res, &n_reg), 0);
    assert_int_equal(res->status, H2K_FIX_STATUS_UNCHANGED);
    assert_int_equal(res->n_changes, 0);
    assert_int_equal(n_reg, 0);
    h2k_fix_result_free(res);
    assert_int_equal(hk_gfs_close(gfs), 0);

    /* 6. read back from the closed image, on the host */
    char *back = ts_join(tf->dir, "SYSTEM.back");
    ntfscat(disk, SYSTEM_PATH, back);
    char *dump = dump_service_in(back, "ControlSet001");
    compare_golden("windows-firstboot/install/service.txt", dump);
    free(dump);

    const char *ls[] = {"ntfsls", "-R", "-p", "/", disk, NULL};
    char *listing = NULL;
    assert_int_equal(ts_run(ls, &listing), 0);
    compare_golden("windows-firstboot/install/files.txt", listing);
    free(listing);

    char *tmp = ts_join(tf->dir, "file.back");
    const char *steps[][2] = {
        {"0010-virtio-drivers.cmd", "windows-firstboot/drivers-win10.cmd"},
        {"0020-vmware-tools-uninstall.cmd", "windows-firstboot/vmware-tools.cmd"},
        {"0030-network.ps1", "windows-firstboot/network-win2019.ps1"},
        {"0040-disks-online.ps1", "windows-firstboot/disks-win2019.ps1"},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(steps); i++) {
        char *p = hk_asprintf("%s/scripts/%s", FB_DIR, steps[i][0]);
        ntfscat(disk, p, tmp);
        size_t len = 0, wl = 0;
        char *got = ts_read_file(tmp, &len);
        char *gp = ts_data_path(steps[i][1]);
        char *want = ts_read_file(gp, &wl);
        assert_int_equal(len, wl);
        assert_memory_equal(got, want, len);
        free(got);
        free(want);
        free(gp);
        free(p);
    }
    ntfscat(disk, FB_DIR "/h2kfirstboot.exe", tmp);
    size_t exe_len = 0, want_len = 0;
    char *exe = ts_read_file(tmp, &exe_len);
    const unsigned char *want = hk_win_firstboot_helper(HK_WIN_ARCH_X64, &want_len);
    assert_non_null(want);
    assert_int_equal(exe_len, want_len);
    assert_memory_equal(exe, want, want_len);
    free(exe);
    free(tmp);
    free(back);
    free(hive);
    free(disk);
}

/* The cached phony guest NAME (built when missing or stale). */
static char *
phony_windows(const char *name)
{
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-windows-phony.sh");
    const char *argv[] = {"bash", script, name, NULL};
    char *out = NULL;
    if (ts_run(argv, &out) != 0)
        fail_msg("build-windows-phony.sh %s failed:\n%s", name, out ? out : "");
    char *prefix = hk_asprintf("%s ", name);
    char *line = strstr(out, prefix);
    assert_non_null(line);
    char *path = strdup(line + strlen(prefix));
    path[strcspn(path, "\n")] = '\0';
    free(prefix);
    free(out);
    free(script);
    return path;
}

static void
test_phony_win2k22(void **state)
{
    ts_fixture *tf = *state;
    char *base = phony_windows("win2k22");
    char *overlay = ts_join(tf->dir, "win2k22.qcow2");
    assert_int_equal(hk_qcow2_overlay(tf->ctx, base, "qcow2", overlay), 0);
    const char *disks[] = {overlay};
    const char *formats[] = {"qcow2"};
    hk_gfs *gfs = NULL;
    assert_int_equal(hk_gfs_open(tf->ctx, disks, formats, 1, false, &gfs), 0);
    assert_int_equal(hk_gfs_inspect_mount(gfs), 0);
    h2k_guest_identity *id = NULL;
    assert_int_equal(hk_gfs_identity(gfs, &id), 0);
    assert_non_null(id->windows);
    const h2k_windows_info *wi = id->windows;
    assert_int_equal(wi->n_adapters, 1);

    /* what the conversion fills in: the facts of the guest, the MAC of the VM */
    hk_win_firstboot fb = {0};
    assert_int_equal(hk_win_firstboot_from_info(tf->ctx, wi, &fb), 0);
    assert_int_equal(fb.os.major, 10);
    assert_true(fb.os.server);
    assert_int_equal(fb.os.arch, HK_WIN_ARCH_X64);
    assert_string_equal(fb.vmware_tools_code, "{FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}");
    hk_win_ip ips[4];
    hk_win_nic nic;
    assert_true(wi->adapters[0].n_addresses <= 4);
    hk_win_nic_from_adapter(&wi->adapters[0], "00:50:56:8a:20:10", ips, &nic);
    assert_false(nic.dhcp);
    fb.nics = &nic;
    fb.n_nics = 1;
    fb.driver_dir = "C:\\Windows\\Drivers\\VirtIO";
    fb.disks_online = true;

    h2k_fix_result *res = NULL;
    size_t n_reg = 0;
    h2k_offline_fixer fx;
    memset(&fx, 0, sizeof(fx));
    fx.ctx = tf->ctx;
    fx.gfs = gfs;
    res = hk_fix_begin(&fx, H2K_FIX_VMWARE_TOOLS);
    hk_hive *h = NULL;
    assert_int_equal(hk_hive_open_guest(tf->ctx, gfs->g, SYSTEM_PATH, "SYSTEM", tf->dir, true,
                                        false, &h),
                     0);
    int rc = hk_win_firstboot_install(&fx, res, h, NULL, &fb);
    if (rc < 0)
        fail_msg("install: %s", h2k_ctx_last_error(tf->ctx)->message);
    hk_hive_changes(h, &n_reg);
    assert_int_equal(n_reg, 9);
    assert_string_equal(hk_hive_changes(h, &n_reg)[0].key,
                        "ControlSet002\\Services\\hyper2kvm-firstboot");
    assert_int_equal(hk_hive_commit(h), 0);
    hk_hive_close(h);
    assert_int_equal(res->n_changes, 5);
    h2k_fix_result_free(res);

    /* read back: the hive as the guest now holds it */
    char *back = ts_join(tf->dir, "SYSTEM.win2k22");
    char *sys = guestfs_case_sensitive_path(gfs->g, SYSTEM_PATH);
    gfs_ok(gfs, guestfs_download(gfs->g, sys, back), "download SYSTEM");
    char *dump = dump_service_in(back, "ControlSet002");
    compare_golden("windows-firstboot/install/win2k22-service.txt", dump);
    free(dump);
    char *dir = guestfs_case_sensitive_path(gfs->g, "/Program Files/hyper2kvm/firstboot/scripts");
    assert_non_null(dir);
    char *net = hk_asprintf("%s/0030-network.ps1", dir);
    size_t len = 0;
    char *text = guestfs_read_file(gfs->g, net, &len);
    assert_non_null(text);
    compare_golden("windows-firstboot/install/win2k22-network.ps1", text);
    free(text);
    free(net);
    free(dir);
    free(sys);
    free(back);
    assert_int_equal(hk_gfs_close(gfs), 0);
    h2k_guest_identity_free(id);
    free(overlay);
    free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_install, ts_fixture_setup, ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_phony_win2k22, ts_fixture_setup, ts_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

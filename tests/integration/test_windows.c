/*
 * Windows guests on the phony Windows disks (scripts/images/build-windows-phony.sh)
 * with a fake virtio-win (scripts/images/make-fake-virtio-win.sh), four appliance
 * launches in all:
 *
 *  - win7 (x86, CriticalDeviceDatabase), one fixer session: the refusal when
 *    virtio-win has no driver for Windows 7 (nothing written), a dry run (changes
 *    listed, nothing written), the injection from a folder, a second run that
 *    changes nothing, then the hives and files read back and compared with
 *    tests/data/windows/win7.golden (hives exported by hivexregedit, not by our
 *    registry code);
 *  - win2k22 (amd64, driver database, control set 002, static IP, VMware Tools):
 *    the same from the ISO, with the identity checked (type windows, version,
 *    adapters) and tests/data/windows/win2k22.golden, the first boot (service
 *    key, helper, the pnputil, VMware Tools and static-IP steps for the VM's
 *    NIC MAC) read back and compared with win2k22-firstboot.golden, then
 *    vioscsi for a virtio-scsi target;
 *  - win10hib (hibernated): `hyperkvm fix` refuses and the image stays byte for
 *    byte (sha256);
 *  - drive letters: MountedDevices resolved to partitions (win7 and win2k22 by
 *    MBR signature + offset, win11 by GPT partition GUID, a letter on a disk
 *    outside the VM without a device);
 *  - win11 (UEFI): `hyper2kvm local --input WIN.vmx --virtio-win ISO --test-boot`
 *    gives a qcow2, a domain XML that virt-xml-validate accepts (virtio, Hyper-V,
 *    localtime, OVMF with NVRAM, TPM 2.0), a report listing the registry changes
 *    and a boot test that says "not proven";
 *  - win11 again with a virtio-win without w11 and w10 drivers: `local` succeeds with a
 *    warning naming the refusal, SATA + e1000e, nothing of the repair written.
 *
 * H2K_UPDATE_GOLDEN=1 rewrites the golden files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fix/fixer_internal.h"
#include "fix/win_firstboot.h"
#include "testsupport.h"

static char *workdir;
static char *vw_tree;   /* the fake virtio-win folder */
static char *vw_iso;    /* and its ISO */
static char *vw_no_w7;  /* a folder without any w7 driver */
static char *vw_no_w11; /* a folder without any w11 driver, nor w10 (w11's fallback) */

static char *
image_of(const char *out, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "%s /", name);
    char *line = strstr(out, key);
    if (!line)
        fail_msg("build-windows-phony.sh did not build %s:\n%s", name, out);
    line += strlen(name) + 1;
    return hk_strndup(line, strcspn(line, "\n"));
}

static char *images[4]; /* copies of win7, win2k22, win10hib; win11 as is */

static int
setup(void **state)
{
    (void)state;
    char *script = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/build-windows-phony.sh");
    const char *argv[] = {"bash", script, NULL};
    char *out = NULL;
    if (ts_run(argv, &out) != 0)
        fail_msg("building the phony Windows guests failed:\n%s", out);
    workdir = ts_mkdtemp();
    static const char *const names[] = {"win7", "win2k22", "win10hib", "win11"};
    for (size_t i = 0; i < 4; i++) {
        char *base = image_of(out, names[i]);
        if (i == 3) {
            images[i] = base;
            continue;
        }
        /* the fixer writes: work on copies (a few MiB each), the cached images stay
         * pristine.  Not overlays: a backing file in the cache lies outside the
         * overlay's folder, and references are confined to it. */
        images[i] = hk_asprintf("%s/%s.qcow2", workdir, names[i]);
        const char *cp[] = {"cp", "--sparse=always", base, images[i], NULL};
        ts_run_ok(cp);
        free(base);
    }
    free(out);
    free(script);
    char *mkvw = ts_join(ts_env("H2K_SOURCE_DIR"), "scripts/images/make-fake-virtio-win.sh");
    vw_tree = ts_join(workdir, "virtio-win");
    vw_iso = ts_join(workdir, "virtio-win.iso");
    vw_no_w7 = ts_join(workdir, "virtio-win-no-w7");
    const char *a1[] = {"bash", mkvw, vw_tree, vw_iso, NULL};
    ts_run_ok(a1);
    const char *a2[] = {"bash", mkvw, vw_no_w7, NULL};
    ts_run_ok(a2);
    vw_no_w11 = ts_join(workdir, "virtio-win-no-w11");
    const char *a3[] = {"bash", mkvw, vw_no_w11, NULL};
    ts_run_ok(a3);
    const char *drivers[] = {"viostor",   "vioscsi", "netkvm", "balloon",
                             "vioserial", "viorng",  "pvpanic"};
    for (size_t i = 0; i < HK_ARRAY_LEN(drivers); i++) {
        char *d = hk_asprintf("%s/%s/w7", vw_no_w7, drivers[i]);
        ts_rmtree(d);
        free(d);
        d = hk_asprintf("%s/%s/w11", vw_no_w11, drivers[i]);
        ts_rmtree(d);
        free(d);
        d = hk_asprintf("%s/%s/w10", vw_no_w11, drivers[i]);
        ts_rmtree(d);
        free(d);
    }
    free(mkvw);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++)
        free(images[i]);
    ts_rmtree(workdir);
    free(workdir);
    free(vw_tree);
    free(vw_iso);
    free(vw_no_w7);
    free(vw_no_w11);
    return 0;
}

/* ------------------------------------------------------------- read back */

/* hivexregedit's export of @key of @hive (downloaded from the guest) */
static void
export_key(hk_buf *b, const char *hive, const char *hive_name, const char *key)
{
    const char *argv[] = {"hivexregedit", "--export", "--unsafe-printable-strings",
                          hive,           key,        NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    hk_buf_printf(b, "### %s %s\n", hive_name, key);
    if (st != 0)
        hk_buf_puts(b, "(absent)\n");
    else {
        /* drop the CR of the .reg format and the header line */
        for (char *p = out; *p; p++)
            if (*p == '\r')
                *p = ' ';
        char *body = strstr(out, "\n");
        hk_buf_puts(b, body ? body + 1 : out);
    }
    free(out);
}

/* The state of the guest after the repair, as text: registry subtrees exported
 * by hivexregedit, then every file of the driver folder with its size. */
static char *
read_back(h2k_offline_fixer *fx, const char *const *sys_keys, const char *const *sw_keys)
{
    guestfs_h *g = fx->gfs->g;
    char *sys = ts_join(workdir, "SYSTEM.readback");
    char *sw = ts_join(workdir, "SOFTWARE.readback");
    assert_int_equal(guestfs_download(g, "/Windows/System32/config/SYSTEM", sys), 0);
    assert_int_equal(guestfs_download(g, "/Windows/System32/config/SOFTWARE", sw), 0);
    hk_buf b = {0};
    for (size_t i = 0; sys_keys[i]; i++)
        export_key(&b, sys, "SYSTEM", sys_keys[i]);
    for (size_t i = 0; sw_keys[i]; i++)
        export_key(&b, sw, "SOFTWARE", sw_keys[i]);
    hk_buf_puts(&b, "### files\n");
    static const char *const dirs[] = {"/Windows/Drivers/VirtIO", "/Windows/System32/drivers"};
    for (size_t d = 0; d < 2; d++) {
        char **ls = guestfs_ls(g, dirs[d]);
        assert_non_null(ls);
        for (size_t i = 0; ls[i]; i++) {
            char *p = hk_asprintf("%s/%s", dirs[d], ls[i]);
            size_t len = 0;
            char *data = guestfs_read_file(g, p, &len);
            assert_non_null(data);
            /* the placeholders are one line of text naming their folder */
            hk_buf_printf(&b, "%s %zu %.*s", p, len, (int)strcspn(data, "\n"), data);
            hk_buf_puts(&b, "\n");
            free(data);
            free(p);
        }
        hk_strv_free(ls);
    }
    unlink(sys);
    unlink(sw);
    free(sys);
    free(sw);
    return hk_buf_steal(&b);
}

/* The first boot as the guest holds it: the service key (hivexregedit), the
 * helper (its size and bytes against the embedded one; its bytes depend on
 * the cross compiler, so they are not in the golden file) and every step
 * script in full (CR dropped). */
static char *
read_back_firstboot(h2k_offline_fixer *fx, const char *service_key)
{
    guestfs_h *g = fx->gfs->g;
    char *sys = ts_join(workdir, "SYSTEM.readback");
    assert_int_equal(guestfs_download(g, "/Windows/System32/config/SYSTEM", sys), 0);
    hk_buf b = {0};
    export_key(&b, sys, "SYSTEM", service_key);
    unlink(sys);
    free(sys);
    const char *dir = "/Program Files/hyper2kvm/firstboot";
    char *exe = hk_asprintf("%s/%s", dir, HK_WIN_FB_EXE);
    size_t want = 0, len = 0;
    const unsigned char *helper = hk_win_firstboot_helper(HK_WIN_ARCH_X64, &want);
    assert_non_null(helper);
    char *data = guestfs_read_file(g, exe, &len);
    assert_non_null(data);
    assert_int_equal(len, want);
    assert_memory_equal(data, helper, want);
    free(data);
    hk_buf_printf(&b, "### files\n%s (the embedded x64 helper)\n", exe);
    free(exe);
    char *sdir = hk_asprintf("%s/scripts", dir);
    char **ls = guestfs_ls(g, sdir);
    assert_non_null(ls);
    for (size_t i = 0; ls[i]; i++) {
        char *p = hk_asprintf("%s/%s", sdir, ls[i]);
        char *t = guestfs_read_file(g, p, &len);
        assert_non_null(t);
        hk_buf_printf(&b, "### %s (%zu bytes)\n", p, len);
        for (size_t k = 0; k < len; k++)
            if (t[k] != '\r')
                hk_buf_printf(&b, "%c", t[k]);
        free(t);
        free(p);
    }
    hk_strv_free(ls);
    free(sdir);
    return hk_buf_steal(&b);
}

static void
compare_golden(const char *name, const char *text)
{
    char *rel = hk_asprintf("windows/%s.golden", name);
    char *path = ts_data_path(rel);
    const char *upd = getenv("H2K_UPDATE_GOLDEN");
    if (upd && *upd == '1') {
        ts_write_file(path, text, strlen(text));
    } else {
        char *golden = ts_read_file(path, NULL);
        if (strcmp(golden, text) != 0)
            fail_msg("%s differs from the guest:\n%s", path, text);
        free(golden);
    }
    free(rel);
    free(path);
}

static const h2k_fix_result *
last_result(h2k_offline_fixer *fx)
{
    size_t n = h2k_offline_fixer_result_count(fx);
    assert_true(n > 0);
    return h2k_offline_fixer_result_at(fx, n - 1);
}

static bool
has_registry(const h2k_fix_result *r, const char *key_part, const char *value)
{
    for (size_t i = 0; i < r->n_registry_changes; i++) {
        const h2k_registry_change *c = &r->registry_changes[i];
        if (strstr(c->key, key_part) && c->value && strcmp(c->value, value) == 0)
            return true;
    }
    return false;
}

static bool
has_file(const h2k_fix_result *r, const char *path_part)
{
    for (size_t i = 0; i < r->n_changes; i++)
        if (r->changes[i].path && strstr(r->changes[i].path, path_part))
            return true;
    return false;
}

/* ------------------------------------------------------------- win7 */

static void
test_win7_cdb(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_fix_options o = H2K_FIX_OPTIONS_INIT;
    o.atomic = 1;
    o.virtio_win = vw_no_w7;
    h2k_offline_fixer *fx = NULL;
    const char *disks[] = {images[0]};
    ts_assert_rc(ctx, h2k_offline_fixer_open(ctx, disks, NULL, 1, &o, &fx), 0);
    const h2k_guest_identity *id = h2k_offline_fixer_identity(fx);
    assert_int_equal(id->type, H2K_GUEST_WINDOWS);
    assert_non_null(id->windows);
    assert_string_equal(id->windows->os_short, "w7");
    assert_string_equal(id->windows->arch, "x86");
    assert_false(id->windows->server);
    /* MountedDevices' C: (disk signature + 1 MiB offset) is the MBR's first partition */
    assert_int_equal(id->windows->n_drives, 1);
    assert_string_equal(id->windows->drive_letters[0], "C");
    assert_string_equal(id->windows->drive_devices[0], "/dev/sda1");

    /* 1. no driver for Windows 7 x86: refused, the guest not even mounted read-write */
    h2k_fix_result *r = NULL;
    ts_assert_rc(ctx, h2k_offline_fixer_inject_virtio_win(fx, &r), 0);
    assert_int_equal(r->status, H2K_FIX_STATUS_FAILED);
    assert_non_null(strstr(r->message, "refused, nothing changed"));
    assert_non_null(strstr(r->message, "viostor/w7/x86"));
    assert_non_null(strstr(r->message, "x86"));
    assert_int_equal(r->n_changes, 0);
    assert_int_equal(r->n_registry_changes, 0);
    assert_false(fx->windows_rw);
    assert_int_equal(h2k_offline_fixer_virtio_ready(fx), 0);
    h2k_fix_result_free(r);

    /* 2. a dry run lists the changes and writes nothing */
    fx->opts.dry_run = 1;
    free(fx->virtio_win);
    fx->virtio_win = strdup(vw_tree);
    ts_assert_rc(ctx, h2k_offline_fixer_inject_virtio_win(fx, &r), 0);
    assert_int_equal(r->status, H2K_FIX_STATUS_CHANGED);
    assert_true(r->dry_run);
    assert_true(has_registry(r, "CriticalDeviceDatabase\\PCI#VEN_1AF4&DEV_1001", "Service"));
    assert_true(has_registry(r, "CriticalDeviceDatabase\\PCI#VEN_1AF4&DEV_1042", "ClassGUID"));
    assert_false(fx->windows_rw);
    assert_int_equal(guestfs_exists(fx->gfs->g, "/Windows/Drivers/VirtIO"), 0);
    /* the first boot is listed too, and not written either */
    assert_true(has_file(r, "firstboot/" HK_WIN_FB_EXE));
    assert_true(has_file(r, "firstboot/scripts/0010-virtio-drivers.cmd"));
    assert_true(has_registry(r, "ControlSet001\\Services\\" HK_WIN_FB_SERVICE, "ImagePath"));
    assert_int_equal(guestfs_exists(fx->gfs->g, "/Program Files/hyper2kvm"), 0);
    size_t dry_changes = r->n_registry_changes, dry_files = r->n_changes;
    h2k_fix_result_free(r);

    /* 3. the injection, from the folder */
    fx->opts.dry_run = 0;
    ts_assert_rc(ctx, h2k_offline_fixer_inject_virtio_win(fx, &r), 0);
    assert_int_equal(r->status, H2K_FIX_STATUS_CHANGED);
    assert_int_equal(r->n_registry_changes, dry_changes);
    assert_int_equal(r->n_changes, dry_files);
    assert_non_null(strstr(r->message, "CriticalDeviceDatabase"));
    assert_true(has_registry(r, "ControlSet001\\Services\\viostor", "Start"));
    assert_true(has_registry(r, "Microsoft\\Windows\\CurrentVersion", "DevicePath"));
    assert_int_equal(h2k_offline_fixer_virtio_ready(fx), 1);
    /* Windows 7 x86: the x86 helper; no VMware Tools, no static adapter */
    assert_non_null(strstr(r->message, "first boot (" HK_WIN_FB_SERVICE "): pnputil, 0 static"));
    assert_int_equal(guestfs_is_file(fx->gfs->g,
                                     "/Program Files/hyper2kvm/firstboot/" HK_WIN_FB_EXE),
                     1);
    assert_int_equal(guestfs_exists(fx->gfs->g, "/Program Files/hyper2kvm/firstboot/scripts/"
                                                "0020-vmware-tools-uninstall.cmd"),
                     0);
    h2k_fix_result_free(r);

    /* 4. a second run changes nothing */
    ts_assert_rc(ctx, h2k_offline_fixer_inject_virtio_win(fx, &r), 0);
    assert_int_equal(r->status, H2K_FIX_STATUS_UNCHANGED);
    assert_int_equal(r->n_registry_changes, 0);
    assert_int_equal(r->n_changes, 0);
    h2k_fix_result_free(r);

    /* 5. what the guest now holds */
    static const char *const sys_keys[] = {"\\ControlSet001\\Services\\viostor",
                                           "\\ControlSet001\\Control\\CriticalDeviceDatabase",
                                           "\\DriverDatabase", NULL};
    static const char *const sw_keys[] = {"\\Microsoft\\Windows\\CurrentVersion", NULL};
    char *text = read_back(fx, sys_keys, sw_keys);
    compare_golden("win7", text);
    free(text);
    /* the report has every registry change */
    char *md = h2k_offline_fixer_report_markdown(fx);
    assert_non_null(strstr(md, "### Registry"));
    assert_non_null(
        strstr(md, "CriticalDeviceDatabase\\PCI#VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00"));
    assert_non_null(strstr(md, "Drive letters: C: /dev/sda1\n"));
    free(md);
    ts_assert_rc(ctx, h2k_offline_fixer_commit(fx), 0);
    ts_assert_rc(ctx, h2k_offline_fixer_close(fx), 0);
    h2k_ctx_free(ctx);
}

/* ------------------------------------------------------------- win2k22 */

static void
test_win2k22_driver_database(void **state)
{
    (void)state;
    h2k_ctx *ctx = ts_ctx();
    h2k_fix_options o = H2K_FIX_OPTIONS_INIT;
    o.atomic = 1;
    o.virtio_win = vw_iso;
    /* the KVM NIC that takes over the source's vmxnet3 adapter */
    const h2k_fix_nic nics[] = {{.mac = "52:54:00:20:00:10"}};
    o.nics = nics;
    o.n_nics = 1;
    h2k_offline_fixer *fx = NULL;
    const char *disks[] = {images[1]};
    ts_assert_rc(ctx, h2k_offline_fixer_open(ctx, disks, NULL, 1, &o, &fx), 0);
    const h2k_guest_identity *id = h2k_offline_fixer_identity(fx);
    char *json = h2k_guest_identity_to_json(id);
    assert_non_null(strstr(json, "\"type\": \"windows\""));
    free(json);
    const h2k_windows_info *w = id->windows;
    assert_non_null(w);
    assert_string_equal(w->product_name, "Windows Server 2022 Phony Edition");
    assert_int_equal(w->major_version, 10);
    assert_int_equal(w->build, 20348);
    assert_true(w->server);
    assert_string_equal(w->edition, "ServerStandard");
    assert_string_equal(w->os_short, "2k22");
    assert_string_equal(w->arch, "amd64");
    assert_string_equal(w->current_control_set, "ControlSet002");
    assert_string_equal(w->system_root, "/Windows");
    assert_false(w->hibernated);
    /* C: resolved; D: names a disk that is not part of this VM */
    assert_int_equal(w->n_drives, 2);
    assert_string_equal(w->drive_letters[0], "C");
    assert_string_equal(w->drive_devices[0], "/dev/sda1");
    assert_string_equal(w->drive_letters[1], "D");
    assert_null(w->drive_devices[1]);
    assert_true(w->vmware_tools);
    assert_string_equal(w->vmware_tools_product_code, "{FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}");
    assert_int_equal(w->n_adapters, 1);
    assert_false(w->adapters[0].dhcp);
    assert_string_equal(w->adapters[0].description, "vmxnet3 Ethernet Adapter");
    assert_int_equal(w->adapters[0].n_addresses, 1);
    assert_string_equal(w->adapters[0].addresses[0], "192.168.20.10");
    assert_int_equal(w->adapters[0].prefixes[0], 24);
    assert_string_equal(w->adapters[0].gateway, "192.168.20.1");
    assert_int_equal(w->adapters[0].n_dns, 2);
    assert_string_equal(w->adapters[0].dns[1], "192.168.20.3");

    /* run_all: virtio_win changes, the Linux repairs are skipped */
    ts_assert_rc(ctx, h2k_offline_fixer_run_all(fx), 0);
    const h2k_fix_result *r = h2k_offline_fixer_result_at(fx, 0);
    assert_int_equal(r->kind, H2K_FIX_VIRTIO_WIN);
    assert_int_equal(r->status, H2K_FIX_STATUS_CHANGED);
    assert_non_null(strstr(r->message, "driver database"));
    assert_true(has_registry(r, "ControlSet002\\Services\\viostor", "ImagePath"));
    assert_true(
        has_registry(r, "DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_1042", "h2k_viostor.inf"));
    h2k_fix_result *r2 = NULL;
    ts_assert_rc(ctx, h2k_offline_fixer_inject_virtio_win(fx, &r2), 0);
    assert_int_equal(r2->status, H2K_FIX_STATUS_UNCHANGED);
    h2k_fix_result_free(r2);
    assert_int_equal(last_result(fx)->status, H2K_FIX_STATUS_UNCHANGED);
    static const char *const sys_keys[] = {"\\ControlSet002\\Services\\viostor",
                                           "\\DriverDatabase\\DriverInfFiles",
                                           "\\DriverDatabase\\DeviceIds",
                                           "\\DriverDatabase\\DriverPackages",
                                           "\\ControlSet002\\Control\\CriticalDeviceDatabase",
                                           NULL};
    static const char *const sw_keys[] = {"\\Microsoft\\Windows\\CurrentVersion", NULL};
    char *text = read_back(fx, sys_keys, sw_keys);
    compare_golden("win2k22", text);
    free(text);
    /* the first boot, in the same repair: the report names it */
    assert_non_null(strstr(r->message, "first boot (" HK_WIN_FB_SERVICE ")"));
    assert_true(has_registry(r, "ControlSet002\\Services\\" HK_WIN_FB_SERVICE, "ImagePath"));
    text = read_back_firstboot(fx, "\\ControlSet002\\Services\\" HK_WIN_FB_SERVICE);
    compare_golden("win2k22-firstboot", text);
    assert_non_null(strstr(text, "pnputil /add-driver"));
    assert_non_null(strstr(text, "C:\\Windows\\Drivers\\VirtIO"));
    assert_non_null(strstr(text, "msiexec.exe\" /x {FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}"));
    assert_non_null(strstr(text, "52-54-00-20-00-10"));
    assert_non_null(strstr(text, "192.168.20.10"));
    free(text);
    /* a virtio-scsi target: vioscsi becomes the boot driver, bound to its own ids */
    fx->opts.virtio_scsi = 1;
    ts_assert_rc(ctx, h2k_offline_fixer_inject_virtio_win(fx, &r2), 0);
    assert_int_equal(r2->status, H2K_FIX_STATUS_CHANGED);
    assert_non_null(strstr(r2->message, "vioscsi"));
    assert_true(has_registry(r2, "ControlSet002\\Services\\vioscsi", "Start"));
    assert_true(
        has_registry(r2, "DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_1048", "h2k_vioscsi.inf"));
    assert_true(
        has_registry(r2, "DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_1004", "h2k_vioscsi.inf"));
    assert_int_equal(guestfs_is_file(fx->gfs->g, "/Windows/System32/drivers/vioscsi.sys"), 1);
    h2k_fix_result_free(r2);
    char *rj = h2k_offline_fixer_report_json(fx);
    assert_non_null(strstr(rj, "\"registry_changes\""));
    assert_non_null(strstr(rj, "\"hive\": \"SOFTWARE\""));
    assert_non_null(strstr(rj, "firstboot/scripts/0030-network.ps1"));
    assert_non_null(strstr(rj, "Services\\\\" HK_WIN_FB_SERVICE));
    free(rj);
    ts_assert_rc(ctx, h2k_offline_fixer_commit(fx), 0);
    ts_assert_rc(ctx, h2k_offline_fixer_close(fx), 0);
    h2k_ctx_free(ctx);
}

/* ------------------------------------------------------------- refusal */

static void
test_hibernated_refused_cli(void **state)
{
    (void)state;
    char before[65], after[65];
    ts_sha256_file(images[2], before);
    char *report = ts_join(workdir, "hib.json");
    const char *argv[] = {ts_env("H2K_CLI"), "fix",  images[2], "--virtio-win", vw_iso,
                          "--report",        report, NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "hibernat"));
    ts_sha256_file(images[2], after);
    assert_string_equal(before, after);
    char *rep = ts_read_file(report, NULL);
    assert_non_null(strstr(rep, "refused, nothing changed"));
    assert_non_null(strstr(rep, "\"hibernated\": true"));
    assert_non_null(strstr(rep, "\"fast_startup\": true"));
    free(rep);
    free(report);
    free(out);
}

/* ------------------------------------------------------------- local */

static const char win11_vmx[] = ".encoding = \"UTF-8\"\n"
                                "displayName = \"win11-phony\"\n"
                                "guestOS = \"windows11-64\"\n"
                                "memsize = \"4096\"\n"
                                "numvcpus = \"2\"\n"
                                "firmware = \"efi\"\n"
                                "scsi0.present = \"TRUE\"\n"
                                "scsi0.virtualDev = \"lsisas1068\"\n"
                                "scsi0:0.present = \"TRUE\"\n"
                                "scsi0:0.fileName = \"win11.vmdk\"\n"
                                "ethernet0.present = \"TRUE\"\n"
                                "ethernet0.virtualDev = \"vmxnet3\"\n"
                                "ethernet0.networkName = \"VM Network\"\n"
                                "ethernet0.addressType = \"static\"\n"
                                "ethernet0.address = \"00:50:56:11:22:33\"\n";

static void
test_local_win11_vmx(void **state)
{
    (void)state;
    char *vm = ts_join(workdir, "vm");
    mkdir(vm, 0755);
    char *vmx = ts_join(vm, "win11.vmx");
    char *vmdk = ts_join(vm, "win11.vmdk");
    ts_write_file(vmx, win11_vmx, strlen(win11_vmx));
    const char *cv[] = {"qemu-img", "convert", "-O", "vmdk", images[3], vmdk, NULL};
    ts_run_ok(cv);
    char src_sha[65], src_sha2[65];
    ts_sha256_file(vmdk, src_sha);
    char *outdir = ts_join(workdir, "out");
    const char *argv[] = {ts_env("H2K_CLI"), "local", "--input",     vmx, "--virtio-win", vw_iso,
                          "--output-dir",    outdir,  "--test-boot", NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("hyper2kvm local failed:\n%s", out);
    assert_non_null(strstr(out, "NOT PROVEN"));
    ts_sha256_file(vmdk, src_sha2);
    assert_string_equal(src_sha, src_sha2); /* the source is never touched */
    char *qcow2 = ts_join(outdir, "win11-phony-disk1.qcow2");
    char *xml = ts_join(outdir, "win11-phony.xml");
    char *rj = ts_join(outdir, "win11-phony.report.json");
    assert_true(ts_exists(qcow2));
    const char *val[] = {"virt-xml-validate", xml, "domain", NULL};
    ts_run_ok(val);
    char *x = ts_read_file(xml, NULL);
    assert_non_null(strstr(x, "bus=\"virtio\""));
    assert_non_null(strstr(x, "<model type=\"virtio\"/>"));
    assert_non_null(strstr(x, "<hyperv"));
    assert_non_null(strstr(x, "offset=\"localtime\""));
    assert_non_null(strstr(x, "OVMF_CODE"));
    assert_non_null(strstr(x, "<nvram"));
    assert_non_null(strstr(x, "<tpm model=\"tpm-crb\""));
    assert_non_null(strstr(x, "version=\"2.0\""));
    free(x);
    char *r = ts_read_file(rj, NULL);
    assert_non_null(strstr(r, "\"registry_changes\""));
    assert_non_null(strstr(r, "DriverDatabase\\\\DeviceIds\\\\PCI\\\\VEN_1AF4&DEV_1001"));
    assert_non_null(strstr(r, "\"verdict\": \"not proven\""));
    assert_non_null(strstr(r, "\"type\": \"windows\""));
    /* C: by its GPT partition GUID ("DMIO:ID:"), the NTFS partition after ESP and MSR */
    const char *drives = strstr(r, "\"drives\"");
    assert_non_null(drives);
    assert_non_null(strstr(drives, "\"letter\": \"C\""));
    assert_non_null(strstr(drives, "\"device\": \"/dev/sda3\""));
    free(r);
    char *mdp = ts_join(outdir, "win11-phony.report.md");
    char *md = ts_read_file(mdp, NULL);
    assert_non_null(strstr(md, "## Registry changes"));
    assert_non_null(strstr(md, "| SOFTWARE | `Microsoft\\Windows\\CurrentVersion` | DevicePath |"));
    assert_non_null(strstr(md, "Not proven"));
    assert_non_null(strstr(md, "## Windows drive letters"));
    assert_non_null(strstr(md, "| C: | /dev/sda3 |"));
    free(md);
    free(mdp);
    free(qcow2);
    free(xml);
    free(rj);
    free(out);
    free(outdir);
    free(vmx);
    free(vmdk);
    free(vm);
}

/* `local` on a Windows 11 VM whose virtio repair refuses (the given virtio-win has
 * no w11 driver, nor the w10 one w11 falls back to): the migration succeeds, with a warning that
 * names the refusal, SATA disks and an e1000e NIC in the domain, no registry change in the report,
 * and the source untouched. */
static void
test_local_win11_refused_warns(void **state)
{
    (void)state;
    char *vm = ts_join(workdir, "vm-refused");
    mkdir(vm, 0755);
    char *vmx = ts_join(vm, "win11.vmx");
    char *vmdk = ts_join(vm, "win11.vmdk");
    ts_write_file(vmx, win11_vmx, strlen(win11_vmx));
    const char *cv[] = {"qemu-img", "convert", "-O", "vmdk", images[3], vmdk, NULL};
    ts_run_ok(cv);
    char src_sha[65], src_sha2[65];
    ts_sha256_file(vmdk, src_sha);
    char *outdir = ts_join(vm, "out");
    const char *argv[] = {ts_env("H2K_CLI"), "local",        "--input", vmx, "--virtio-win",
                          vw_no_w11,         "--output-dir", outdir,    NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("hyper2kvm local must succeed (with a warning) when the Windows repair "
                 "refuses; status %d:\n%s",
                 st, out);
    assert_non_null(strstr(out, "win11-phony: migrated"));
    const char *w = strstr(out, "warning: Windows guest without virtio drivers: SATA disks and an "
                                "e1000e NIC (");
    if (!w)
        fail_msg("no warning naming the refusal:\n%s", out);
    /* the warning carries the refusal: version, architecture, folders looked for */
    assert_non_null(strstr(w, "refused, nothing changed"));
    assert_non_null(strstr(w, "w11"));
    assert_non_null(strstr(w, "amd64"));
    ts_sha256_file(vmdk, src_sha2);
    assert_string_equal(src_sha, src_sha2);
    char *xml = ts_join(outdir, "win11-phony.xml");
    const char *val[] = {"virt-xml-validate", xml, "domain", NULL};
    ts_run_ok(val);
    char *x = ts_read_file(xml, NULL);
    assert_non_null(strstr(x, "bus=\"sata\""));
    assert_null(strstr(x, "bus=\"virtio\""));
    assert_non_null(strstr(x, "<model type=\"e1000e\"/>"));
    free(x);
    char *rj = ts_join(outdir, "win11-phony.report.json");
    char *r = ts_read_file(rj, NULL);
    assert_non_null(strstr(r, "Windows guest without virtio drivers"));
    assert_null(strstr(r, "DriverDatabase\\\\DeviceIds")); /* no registry change made */
    free(r);
    free(rj);
    free(xml);
    free(out);
    free(outdir);
    free(vmx);
    free(vmdk);
    free(vm);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_win7_cdb),
        cmocka_unit_test(test_win2k22_driver_database),
        cmocka_unit_test(test_hibernated_refused_cli),
        cmocka_unit_test(test_local_win11_vmx),
        cmocka_unit_test(test_local_win11_refused_warns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

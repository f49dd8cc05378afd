/*
 * Windows first boot, without a guest:
 *   - every step generator against golden files in tests/data/windows-firstboot/
 *     (<case>.<ext>: the exact bytes, CRLF; H2K_GOLDEN_UPDATE=1 rewrites them);
 *   - hostile values (quotes, '&', '%', newlines...) refused by the strict
 *     validators, with the field named and nothing returned;
 *   - the runner's logic (windows/firstboot/fb_runner.c) with an in-memory
 *     scripts folder: order, log, done folder, self-removal, stop, errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "fb_runner.h"
#include "fix/win_firstboot.h"

static const hk_win_version W10 = {10, 0, 17763, true, HK_WIN_ARCH_X64}; /* Server 2019 */
static const hk_win_version W11 = {10, 0, 22631, false, HK_WIN_ARCH_X64};
static const hk_win_version W7 = {6, 1, 7601, false, HK_WIN_ARCH_X86};
static const hk_win_version W2012R2 = {6, 3, 9600, true, HK_WIN_ARCH_X64};

static const char *
lastmsg(h2k_ctx *ctx)
{
    return h2k_ctx_last_error(ctx)->message;
}

/* Compares @step with the golden file <case>.<its extension>; checks the name. */
static void
golden(const char *case_name, const hk_win_fb_step *step, const char *expected_name)
{
    assert_non_null(step->name);
    assert_non_null(step->text);
    assert_string_equal(step->name, expected_name);
    const char *ext = strrchr(step->name, '.');
    assert_non_null(ext);
    char rel[256];
    snprintf(rel, sizeof(rel), "windows-firstboot/%s%s", case_name, ext);
    char *path = ts_data_path(rel);
    if (getenv("H2K_GOLDEN_UPDATE")) {
        ts_write_file(path, step->text, strlen(step->text));
    } else {
        size_t len = 0;
        char *want = ts_read_file(path, &len);
        if (strcmp(want, step->text) != 0) {
            fprintf(stderr, "golden mismatch: %s\n--- got ---\n%s\n", path, step->text);
            fail();
        }
        free(want);
    }
    free(path);
    /* CRLF everywhere, ASCII only, no bare LF */
    for (const char *p = step->text; *p; p++) {
        assert_true((unsigned char)*p < 0x80);
        if (*p == '\n')
            assert_true(p > step->text && p[-1] == '\r');
    }
}

/* ------------------------------------------------------------ generators */

static void
test_drivers(void **state)
{
    h2k_ctx *ctx = ((ts_fixture *)*state)->ctx;
    hk_win_fb_step s = {0};
    assert_int_equal(hk_win_fb_script_drivers(ctx, 10, &W10,
                                              "C:\\Program Files\\hyper2kvm\\drivers", &s),
                     0);
    golden("drivers-win10", &s, "0010-virtio-drivers.cmd");
    assert_non_null(strstr(s.text, "/add-driver \"%dir%\\*.inf\" /subdirs /install"));
    hk_win_fb_step_clear(&s);

    assert_int_equal(hk_win_fb_script_drivers(ctx, 10, &W7, "C:\\Windows\\Drivers\\VirtIO", &s), 0);
    golden("drivers-win7", &s, "0010-virtio-drivers.cmd");
    assert_non_null(strstr(s.text, "pnputil.exe\" -i -a %1"));
    assert_null(strstr(s.text, "/add-driver"));
    hk_win_fb_step_clear(&s);
}

static void
test_vmware_tools(void **state)
{
    h2k_ctx *ctx = ((ts_fixture *)*state)->ctx;
    hk_win_fb_step s = {0};
    /* lower case, no braces: written back canonical */
    assert_int_equal(hk_win_fb_script_vmware_tools(ctx, 20, "fe2f6a2c-196e-4210-9c04-2b1bc21f07ef",
                                                   &s),
                     0);
    golden("vmware-tools", &s, "0020-vmware-tools-uninstall.cmd");
    assert_non_null(strstr(s.text, "msiexec.exe\" /x {FE2F6A2C-196E-4210-9C04-2B1BC21F07EF} /qn "
                                   "/norestart"));
    hk_win_fb_step_clear(&s);
}

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

static void
test_network(void **state)
{
    h2k_ctx *ctx = ((ts_fixture *)*state)->ctx;
    hk_win_fb_step s = {0};
    assert_int_equal(hk_win_fb_script_network(ctx, 30, &W10, nics, 3, &s), 0);
    golden("network-win2019", &s, "0030-network.ps1");
    /* canonical forms only */
    assert_non_null(strstr(s.text, "'2001:db8::10' -PrefixLength 64"));
    assert_non_null(strstr(s.text, "Find-Adapter '00-50-56-AA-BB-01'"));
    hk_win_fb_step_clear(&s);

    assert_int_equal(hk_win_fb_script_network(ctx, 30, &W7, nics, 3, &s), 0);
    golden("network-win7", &s, "0030-network.cmd");
    assert_non_null(strstr(s.text, "address=192.0.2.10 mask=255.255.255.0 gateway=192.0.2.1"));
    assert_non_null(strstr(s.text, "call :find 00:50:56:AA:BB:01"));
    hk_win_fb_step_clear(&s);

    /* no NIC: a step that says so */
    assert_int_equal(hk_win_fb_script_network(ctx, 30, &W2012R2, NULL, 0, &s), 0);
    golden("network-none", &s, "0030-network.ps1");
    hk_win_fb_step_clear(&s);
}

static void
test_disks(void **state)
{
    h2k_ctx *ctx = ((ts_fixture *)*state)->ctx;
    hk_win_fb_step s = {0};
    assert_int_equal(hk_win_fb_script_disks_online(ctx, 40, &W11, 0, &s), 0);
    golden("disks-win11", &s, "0040-disks-online.ps1");
    hk_win_fb_step_clear(&s);
    assert_int_equal(hk_win_fb_script_disks_online(ctx, 40, &W10, 0, &s), 0);
    golden("disks-win2019", &s, "0040-disks-online.ps1");
    hk_win_fb_step_clear(&s);
    assert_int_equal(hk_win_fb_script_disks_online(ctx, 40, &W7, 3, &s), 0);
    golden("disks-win7", &s, "0040-disks-online.cmd");
    assert_non_null(strstr(s.text, "for /l %%n in (0,1,2) do call :disk %%n"));
    hk_win_fb_step_clear(&s);
    assert_int_equal(hk_win_fb_script_disks_online(ctx, 40, &W7, 0, &s), H2K_ERR_VALIDATION);
    assert_null(s.name);
    assert_int_equal(hk_win_fb_script_disks_online(ctx, 40, &W7, 65, &s), H2K_ERR_VALIDATION);
}

/* The whole set in run order, and the service's command line. */
static void
test_steps_and_image_path(void **state)
{
    h2k_ctx *ctx = ((ts_fixture *)*state)->ctx;
    hk_win_fb_step extra[] = {{(char *)"0100-guest-agent.cmd", (char *)"@echo off\r\n"}};
    hk_win_firstboot fb = {0};
    fb.os = W10;
    fb.driver_dir = "C:\\Program Files\\hyper2kvm\\drivers";
    fb.vmware_tools_code = "{FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}";
    fb.nics = nics;
    fb.n_nics = 3;
    fb.disks_online = true;
    fb.extra = extra;
    fb.n_extra = 1;
    hk_win_fb_step *steps = NULL;
    size_t n = 0;
    assert_int_equal(hk_win_firstboot_steps(ctx, &fb, &steps, &n), 0);
    assert_int_equal(n, 5);
    const char *names[] = {"0010-virtio-drivers.cmd", "0020-vmware-tools-uninstall.cmd",
                           "0030-network.ps1", "0040-disks-online.ps1", "0100-guest-agent.cmd"};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(steps[i].name, names[i]);
        hk_win_fb_step_clear(&steps[i]);
    }
    free(steps);

    /* only DHCP NICs, nothing else: no step at all */
    hk_win_firstboot dhcp = {0};
    dhcp.os = W10;
    dhcp.nics = &nics[1];
    dhcp.n_nics = 1;
    assert_int_equal(hk_win_firstboot_steps(ctx, &dhcp, &steps, &n), 0);
    assert_int_equal(n, 0);
    free(steps);

    /* an extra step that collides, or is no step name */
    hk_win_fb_step clash[] = {{(char *)"0040-DISKS-ONLINE.ps1", (char *)"x"}};
    fb.extra = clash;
    assert_int_equal(hk_win_firstboot_steps(ctx, &fb, &steps, &n), H2K_ERR_VALIDATION);
    assert_null(steps);
    hk_win_fb_step bad[] = {{(char *)"0100-x&y.cmd", (char *)"x"}};
    fb.extra = bad;
    assert_int_equal(hk_win_firstboot_steps(ctx, &fb, &steps, &n), H2K_ERR_VALIDATION);
    assert_null(strstr(lastmsg(ctx), "x&y"));
    fb.n_extra = 0;

    char *ip = hk_win_firstboot_image_path(&fb);
    assert_string_equal(ip, "\"C:\\Program Files\\hyper2kvm\\firstboot\\h2kfirstboot.exe\" "
                            "--service hyper2kvm-firstboot");
    free(ip);
    fb.system_drive = 'd';
    fb.reboot_if_needed = true;
    fb.remove_helper = true;
    ip = hk_win_firstboot_image_path(&fb);
    assert_string_equal(ip, "\"D:\\Program Files\\hyper2kvm\\firstboot\\h2kfirstboot.exe\" "
                            "--service hyper2kvm-firstboot --reboot-if-needed --remove-self");
    free(ip);
    fb.system_drive = '&';
    assert_int_equal(hk_win_firstboot_steps(ctx, &fb, &steps, &n), H2K_ERR_VALIDATION);
}

/* ---------------------------------------------------------- validators */

static void
test_validators(void **state)
{
    h2k_ctx *ctx = ((ts_fixture *)*state)->ctx;
    char g[39];
    assert_int_equal(hk_win_parse_guid(ctx, "f", "{fe2f6a2c-196e-4210-9c04-2b1bc21f07ef}", g), 0);
    assert_string_equal(g, "{FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}");
    unsigned char mac[6];
    assert_int_equal(hk_win_parse_mac(ctx, "f", "52-54-00-Ab-cD-ef", mac), 0);
    assert_int_equal(mac[0], 0x52);
    assert_int_equal(mac[5], 0xef);
    char ip[46];
    bool v6 = true;
    assert_int_equal(hk_win_parse_ip(ctx, "f", "203.0.113.7", ip, &v6), 0);
    assert_false(v6);
    assert_int_equal(hk_win_parse_ip(ctx, "f", "FE80:0:0:0:0:0:0:1", ip, &v6), 0);
    assert_true(v6);
    assert_string_equal(ip, "fe80::1");
    unsigned p = 99;
    assert_int_equal(hk_win_mask_to_prefix(ctx, "f", "255.255.255.0", &p), 0);
    assert_int_equal(p, 24);
    assert_int_equal(hk_win_mask_to_prefix(ctx, "f", "255.255.255.255", &p), 0);
    assert_int_equal(p, 32);
    assert_int_equal(hk_win_mask_to_prefix(ctx, "f", "0.0.0.0", &p), 0);
    assert_int_equal(p, 0);
    assert_int_equal(hk_win_mask_to_prefix(ctx, "f", "255.0.255.0", &p), H2K_ERR_VALIDATION);
    assert_int_equal(hk_win_mask_to_prefix(ctx, "f", "255.255.255.0 & x", &p), H2K_ERR_VALIDATION);
    assert_true(hk_win_path_ok("C:\\"));
    assert_true(hk_win_path_ok("c:\\Program Files (x86)\\virtio-win 0.1.240\\amd64"));
    const char *bad_paths[] = {NULL,
                               "",
                               "C:",
                               "C:\\a\\",
                               "C:\\a\\\\b",
                               "C:\\..\\x",
                               "C:\\a\\.\\b",
                               "C:\\a\"b",
                               "C:\\a&b",
                               "C:\\%TEMP%",
                               "C:\\a^b",
                               "C:\\a!b",
                               "\\\\server\\share",
                               "C:/a",
                               "1:\\a",
                               "C:\\a\nb",
                               "C:\\a;b",
                               "C:\\a|b",
                               "C:\\a<b"};
    for (size_t i = 0; i < HK_ARRAY_LEN(bad_paths); i++)
        assert_false(hk_win_path_ok(bad_paths[i]));
}

/* Every hostile value is refused, named in the error, and produces nothing. */
static void
test_hostile_values(void **state)
{
    h2k_ctx *ctx = ((ts_fixture *)*state)->ctx;
    hk_win_fb_step s = {0};
    const char *codes[] = {"{FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}\" & del /q C:\\*",
                           "{FE2F6A2C-196E-4210-9C04-2B1BC21F07E&}",
                           "FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}",
                           "{FE2F6A2C-196E-4210-9C04-2B1BC21F07EF",
                           "{FE2F6A2C 196E-4210-9C04-2B1BC21F07EF}",
                           "{FE2F6A2C-196E-4210-9C04-2B1BC21F07EF}\r\nshutdown /s",
                           "%COMSPEC%",
                           "",
                           NULL};
    for (size_t i = 0; i < HK_ARRAY_LEN(codes); i++) {
        assert_int_equal(hk_win_fb_script_vmware_tools(ctx, 20, codes[i], &s), H2K_ERR_VALIDATION);
        assert_null(s.name);
        assert_null(s.text);
        const char *m = lastmsg(ctx);
        assert_non_null(strstr(m, "vmware_tools_code"));
        assert_non_null(strstr(m, "refused"));
        /* the message shows the value escaped, never raw control characters or quotes */
        assert_null(strchr(m, '\r'));
        assert_null(strstr(m, "\" &"));
    }

    const char *bad_ips[] = {"192.0.2.10\" ; Remove-Item C:\\ -Recurse",
                             "192.0.2.10'; Stop-Computer; '",
                             "192.0.2.010",
                             "192.0.2",
                             "192.0.2.256",
                             "2001:db8::1%eth0",
                             "2001:db8:::1",
                             "$(Stop-Computer)",
                             "192.0.2.10/24",
                             " 192.0.2.10"};
    for (size_t i = 0; i < HK_ARRAY_LEN(bad_ips); i++) {
        for (int where = 0; where < 3; where++) {
            hk_win_ip addr[] = {{where == 0 ? bad_ips[i] : "192.0.2.10", 24}};
            const char *gw[] = {where == 1 ? bad_ips[i] : "192.0.2.1"};
            const char *dns[] = {"192.0.2.53", where == 2 ? bad_ips[i] : "192.0.2.54"};
            hk_win_nic nic = {"00:50:56:aa:bb:01", false, addr, 1, gw, 1, dns, 2};
            for (int os = 0; os < 2; os++) {
                assert_int_equal(hk_win_fb_script_network(ctx, 30, os ? &W7 : &W10, &nic, 1, &s),
                                 H2K_ERR_VALIDATION);
                assert_null(s.text);
                const char *field = where == 0   ? "nics[0].addresses[0]"
                                    : where == 1 ? "nics[0].gateways[0]"
                                                 : "nics[0].dns[1]";
                assert_non_null(strstr(lastmsg(ctx), field));
            }
        }
    }

    const char *bad_macs[] = {"00:50:56:aa:bb",      "00:50:56:aa:bb:cc:dd",
                              "00:50-56:aa:bb:cc",   "00:50:56:aa:bb:c'",
                              "00:50:56:aa:bb:cc\n", "0050.56aa.bbcc",
                              "g0:50:56:aa:bb:cc",   NULL};
    for (size_t i = 0; i < HK_ARRAY_LEN(bad_macs); i++) {
        hk_win_nic nic = {bad_macs[i], true, NULL, 0, NULL, 0, NULL, 0};
        assert_int_equal(hk_win_fb_script_network(ctx, 30, &W10, &nic, 1, &s), H2K_ERR_VALIDATION);
        assert_non_null(strstr(lastmsg(ctx), "nics[0].mac"));
    }

    /* prefixes out of range, a static NIC without address, a MAC twice */
    hk_win_ip v4_33[] = {{"192.0.2.10", 33}};
    hk_win_ip v6_129[] = {{"2001:db8::10", 129}};
    hk_win_ip v4_0[] = {{"192.0.2.10", 0}};
    hk_win_nic n1 = {"00:50:56:aa:bb:01", false, v4_33, 1, NULL, 0, NULL, 0};
    assert_int_equal(hk_win_fb_script_network(ctx, 30, &W10, &n1, 1, &s), H2K_ERR_VALIDATION);
    n1.addresses = v6_129;
    assert_int_equal(hk_win_fb_script_network(ctx, 30, &W10, &n1, 1, &s), H2K_ERR_VALIDATION);
    n1.addresses = v4_0;
    assert_int_equal(hk_win_fb_script_network(ctx, 30, &W10, &n1, 1, &s), H2K_ERR_VALIDATION);
    n1.n_addresses = 0;
    assert_int_equal(hk_win_fb_script_network(ctx, 30, &W10, &n1, 1, &s), H2K_ERR_VALIDATION);
    hk_win_nic twice[] = {nics[0], nics[0]};
    twice[1].mac = "00-50-56-AA-BB-01";
    assert_int_equal(hk_win_fb_script_network(ctx, 30, &W10, twice, 2, &s), H2K_ERR_VALIDATION);
    assert_non_null(strstr(lastmsg(ctx), "same MAC"));

    const char *bad_dirs[] = {"C:\\drivers\" & format C: & \"", "C:\\%WINDIR%", "\\\\evil\\share",
                              "C:\\drivers\r\necho", NULL};
    for (size_t i = 0; i < HK_ARRAY_LEN(bad_dirs); i++) {
        assert_int_equal(hk_win_fb_script_drivers(ctx, 10, &W10, bad_dirs[i], &s),
                         H2K_ERR_VALIDATION);
        assert_non_null(strstr(lastmsg(ctx), "driver_dir"));
        assert_null(s.text);
    }
    /* the whole set refuses at the first bad value: nothing returned */
    hk_win_firstboot fb = {0};
    fb.os = W10;
    fb.driver_dir = "C:\\drivers";
    fb.vmware_tools_code = codes[0];
    hk_win_fb_step *steps = (hk_win_fb_step *)&fb;
    size_t n = 7;
    assert_int_equal(hk_win_firstboot_steps(ctx, &fb, &steps, &n), H2K_ERR_VALIDATION);
    assert_null(steps);
    assert_int_equal(n, 0);
}

/* --------------------------------------------------------------- runner */

static void
test_step_names(void **state)
{
    (void)state;
    assert_int_equal(hk_fb_step_kind("0001-a.cmd"), HK_FB_CMD);
    assert_int_equal(hk_fb_step_kind("0001-network.PS1"), HK_FB_PS1);
    assert_int_equal(hk_fb_step_kind("9999-x_y.z-w.Cmd"), HK_FB_CMD);
    const char *no[] = {NULL,
                        "",
                        "0001-.cmd",
                        "001-a.cmd",
                        "0001a.cmd",
                        "0001-a.bat",
                        "0001-a b.cmd",
                        "0001-a&b.cmd",
                        "0001-a\".cmd",
                        "0001-a%.cmd",
                        "0001-..\\x.cmd",
                        "0001-a.cmd.txt",
                        "a001-x.cmd",
                        "0001-a.exe",
                        "0001-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.cmd"};
    for (size_t i = 0; i < HK_ARRAY_LEN(no); i++)
        assert_int_equal(hk_fb_step_kind(no[i]), HK_FB_NOT_A_STEP);

    const char *names[] = {"readme.txt", "0020-b.cmd", "0003-Z.ps1",
                           "0010-a.cmd", "0003-a.cmd", "bad name.cmd"};
    size_t k = hk_fb_select_steps(names, HK_ARRAY_LEN(names));
    assert_int_equal(k, 4);
    assert_string_equal(names[0], "0003-a.cmd");
    assert_string_equal(names[1], "0003-Z.ps1");
    assert_string_equal(names[2], "0010-a.cmd");
    assert_string_equal(names[3], "0020-b.cmd");

    char buf[512];
    assert_int_equal(hk_fb_command_line(buf, sizeof(buf), "C:\\Windows\\system32",
                                        "C:\\Program Files\\hyper2kvm\\firstboot\\scripts",
                                        "0010-a.cmd"),
                     0);
    assert_string_equal(buf, "\"C:\\Windows\\system32\\cmd.exe\" /d /c \"\"C:\\Program Files\\"
                             "hyper2kvm\\firstboot\\scripts\\0010-a.cmd\"\"");
    assert_int_equal(hk_fb_command_line(buf, sizeof(buf), "C:\\Windows\\system32", "D:\\s",
                                        "0030-network.ps1"),
                     0);
    assert_string_equal(buf, "\"C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\powershell.exe\" "
                             "-NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "
                             "\"D:\\s\\0030-network.ps1\"");
    assert_int_equal(hk_fb_command_line(buf, sizeof(buf), "C:\\W", "D:\\s", "x.cmd"), -1);
    assert_int_equal(hk_fb_command_line(buf, sizeof(buf), "C:\\W", "D:\\\"s", "0001-a.cmd"), -1);
    assert_int_equal(hk_fb_command_line(buf, 20, "C:\\W", "D:\\s", "0001-a.cmd"), -1);
    assert_true(hk_fb_exit_wants_reboot(3010));
    assert_true(hk_fb_exit_wants_reboot(1641));
    assert_false(hk_fb_exit_wants_reboot(0));
}

/* An in-memory scripts folder. */
typedef struct fake {
    char *files[16]; /* in the scripts folder */
    size_t n;
    char *done[16];
    size_t n_done;
    long codes[16]; /* exit code per run, in order */
    size_t n_runs;
    hk_buf log;
    int unregistered;
    int fail_move; /* name index to refuse moving, -1 none */
    int fail_list;
    int fail_unregister;
    int stop_after;         /* stop requested once this many steps ran; -1 never */
    const char *add_during; /* a step's run adds this file */
} fake;

static int
f_list(void *ud, char ***names, size_t *n)
{
    fake *f = ud;
    if (f->fail_list)
        return -1;
    *names = calloc(f->n + 1, sizeof(char *));
    for (size_t i = 0; i < f->n; i++)
        (*names)[i] = strdup(f->files[i]);
    *n = f->n;
    return 0;
}

static void
f_free_list(void *ud, char **names, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void
f_run(void *ud, const char *name, const char *cmdline, long *code)
{
    fake *f = ud;
    hk_buf_printf(&f->log, "[output of %s]\n", name);
    assert_non_null(strstr(cmdline, name));
    *code = f->codes[f->n_runs++];
    if (f->add_during) {
        f->files[f->n++] = strdup(f->add_during);
        f->add_during = NULL;
    }
}

static int
f_move(void *ud, const char *name)
{
    fake *f = ud;
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->files[i], name) == 0) {
            if (f->fail_move == (int)i)
                return -1;
            f->done[f->n_done++] = f->files[i];
            f->files[i] = f->files[--f->n];
            return 0;
        }
    }
    return -1;
}

static void
f_log(void *ud, const char *line)
{
    fake *f = ud;
    hk_buf_printf(&f->log, "%s\n", line);
}

static bool
f_stop(void *ud)
{
    fake *f = ud;
    return f->stop_after >= 0 && f->n_runs >= (size_t)f->stop_after;
}

static int
f_unregister(void *ud)
{
    fake *f = ud;
    if (f->fail_unregister)
        return -1;
    f->unregistered++;
    return 0;
}

static void
fake_init(fake *f, const char *const *files, size_t n)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < n; i++)
        f->files[f->n++] = strdup(files[i]);
    f->fail_move = -1;
    f->stop_after = -1;
}

static void
fake_free(fake *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->files[i]);
    for (size_t i = 0; i < f->n_done; i++)
        free(f->done[i]);
    hk_buf_free(&f->log);
}

static int
fake_run(fake *f, hk_fb_summary *sum)
{
    hk_fb_ops ops = {f, f_list, f_free_list, f_run, f_move, f_log, f_stop, f_unregister};
    return hk_fb_run(&ops, "C:\\Windows\\system32", "C:\\fb\\scripts", sum);
}

static void
test_runner(void **state)
{
    (void)state;
    const char *files[] = {"0040-disks-online.ps1", "notes.txt", "0010-virtio-drivers.cmd",
                           "0020-vmware-tools-uninstall.cmd"};
    fake f;
    hk_fb_summary sum;
    fake_init(&f, files, 4);
    f.codes[0] = 0;
    f.codes[1] = 3010;
    f.codes[2] = 5;
    f.codes[3] = 0;
    f.add_during = "0030-added.cmd"; /* the first step adds a step: it runs too, in order */
    assert_int_equal(fake_run(&f, &sum), 0);
    assert_int_equal(sum.ran, 4);
    assert_int_equal(sum.failed, 1);
    assert_true(sum.reboot);
    assert_true(sum.finished);
    assert_false(sum.interrupted);
    assert_int_equal(f.unregistered, 1);
    assert_int_equal(f.n, 1); /* notes.txt stays */
    assert_string_equal(f.files[0], "notes.txt");
    assert_int_equal(f.n_done, 4);
    assert_string_equal(f.done[0], "0010-virtio-drivers.cmd");
    assert_string_equal(f.done[1], "0020-vmware-tools-uninstall.cmd");
    assert_string_equal(f.done[2], "0030-added.cmd");
    assert_string_equal(f.done[3], "0040-disks-online.ps1");
    const char *want = "first boot: starting\n"
                       "step 0010-virtio-drivers.cmd: start: \"C:\\Windows\\system32\\cmd.exe\" "
                       "/d /c \"\"C:\\fb\\scripts\\0010-virtio-drivers.cmd\"\"\n"
                       "[output of 0010-virtio-drivers.cmd]\n"
                       "step 0010-virtio-drivers.cmd: exit code 0\n"
                       "step 0020-vmware-tools-uninstall.cmd: start: \"C:\\Windows\\system32\\"
                       "cmd.exe\" /d /c \"\"C:\\fb\\scripts\\0020-vmware-tools-uninstall.cmd\"\"\n"
                       "[output of 0020-vmware-tools-uninstall.cmd]\n"
                       "step 0020-vmware-tools-uninstall.cmd: exit code 3010 (restart required)\n"
                       "step 0030-added.cmd: start: \"C:\\Windows\\system32\\cmd.exe\" /d /c "
                       "\"\"C:\\fb\\scripts\\0030-added.cmd\"\"\n"
                       "[output of 0030-added.cmd]\n"
                       "step 0030-added.cmd: exit code 5 (failed)\n"
                       "step 0040-disks-online.ps1: start: \"C:\\Windows\\system32\\"
                       "WindowsPowerShell\\v1.0\\powershell.exe\" -NoLogo -NoProfile "
                       "-NonInteractive -ExecutionPolicy Bypass -File "
                       "\"C:\\fb\\scripts\\0040-disks-online.ps1\"\n"
                       "[output of 0040-disks-online.ps1]\n"
                       "step 0040-disks-online.ps1: exit code 0\n"
                       "first boot: all steps done (4 steps, 1 failed); a restart is required\n"
                       "first boot: service registration removed\n";
    assert_string_equal(f.log.data, want);
    fake_free(&f);

    /* nothing to do: unregisters at once */
    fake_init(&f, NULL, 0);
    assert_int_equal(fake_run(&f, &sum), 0);
    assert_int_equal(sum.ran, 0);
    assert_true(sum.finished);
    assert_int_equal(f.unregistered, 1);
    fake_free(&f);

    /* a step that cannot be moved aside: stop, keep the registration, run it only once */
    fake_init(&f, files, 4);
    f.fail_move = 2; /* 0010-virtio-drivers.cmd */
    assert_int_equal(fake_run(&f, &sum), -1);
    assert_int_equal(f.n_runs, 1);
    assert_true(sum.interrupted);
    assert_false(sum.finished);
    assert_int_equal(f.unregistered, 0);
    assert_non_null(strstr(f.log.data, "cannot move it to the done folder"));
    fake_free(&f);

    /* a stop request between steps: the rest waits for the next start */
    fake_init(&f, files, 4);
    f.stop_after = 1;
    assert_int_equal(fake_run(&f, &sum), -1);
    assert_int_equal(f.n_runs, 1);
    assert_int_equal(f.n_done, 1);
    assert_int_equal(f.unregistered, 0);
    assert_non_null(strstr(f.log.data, "stop requested"));
    fake_free(&f);

    /* an unreadable folder, a failing unregistration */
    fake_init(&f, files, 4);
    f.fail_list = 1;
    assert_int_equal(fake_run(&f, &sum), -1);
    assert_int_equal(f.unregistered, 0);
    assert_non_null(strstr(f.log.data, "cannot list the scripts folder C:\\fb\\scripts"));
    fake_free(&f);
    fake_init(&f, NULL, 0);
    f.fail_unregister = 1;
    assert_int_equal(fake_run(&f, &sum), -1);
    assert_false(sum.finished);
    assert_non_null(strstr(f.log.data, "cannot remove the service registration"));
    fake_free(&f);

    /* timeouts and steps that could not start are logged and moved aside */
    const char *one[] = {"0001-a.cmd", "0002-b.cmd"};
    fake_init(&f, one, 2);
    f.codes[0] = HK_FB_EXIT_TIMED_OUT;
    f.codes[1] = HK_FB_EXIT_NOT_STARTED;
    assert_int_equal(fake_run(&f, &sum), 0);
    assert_int_equal(sum.failed, 2);
    assert_non_null(strstr(f.log.data, "step 0001-a.cmd: stopped after its time limit"));
    assert_non_null(strstr(f.log.data, "step 0002-b.cmd: not started"));
    fake_free(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drivers),
        cmocka_unit_test(test_vmware_tools),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_disks),
        cmocka_unit_test(test_steps_and_image_path),
        cmocka_unit_test(test_validators),
        cmocka_unit_test(test_hostile_values),
        cmocka_unit_test(test_step_names),
        cmocka_unit_test(test_runner),
    };
    return cmocka_run_group_tests(tests, ts_fixture_setup, ts_fixture_teardown);
}

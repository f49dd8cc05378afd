/*
 * The first boot's disks-online step (src/fix/win_fb_scripts.c), run for real
 * where it can be:
 *
 *  - the Windows 7 / 2008 R2 form (.cmd with diskpart) runs under Wine through
 *    the first-boot helper (the x64 build embedded in the library), with a
 *    stand-in diskpart.exe cross-compiled here with mingw-w64 that records every
 *    script it is given (/s FILE) and whose disks 1 and 2 are "offline": the
 *    SAN policy becomes OnlineAll first, then every disk of the VM (0..2, from
 *    the number of disks) is selected, brought online and its read-only
 *    attribute cleared, each call is in firstboot.log, the step ends with exit
 *    code 0 and leaves no temporary file;
 *  - the PowerShell form (Windows 8 / 2012 on) is checked as text: the SAN
 *    policy, offline disks only, the read-only attribute, a failure counted and
 *    turned into a non-zero exit code (Wine has no Storage module to run it).
 *
 * Not proven here (no Windows runs): that Windows' own diskpart and Set-Disk
 * bring a disk that the SAN policy kept offline online; see
 * windows/firstboot/README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testsupport.h"

#include "fix/win_firstboot.h"

/* A diskpart.exe stand-in: appends "diskpart /s" and the script's lines to
 * C:\diskpart-calls.txt and echoes them; "online disk" on disks 1 and 2 prints
 * that it brought an offline disk online. */
static const char stub_c[] =
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    if (argc != 3 || strcmp(argv[1], \"/s\") != 0) {\n"
    "        printf(\"stub diskpart: usage\\n\");\n"
    "        return 87;\n"
    "    }\n"
    "    FILE *in = fopen(argv[2], \"r\");\n"
    "    FILE *rec = fopen(\"C:\\\\diskpart-calls.txt\", \"a\");\n"
    "    if (!in || !rec)\n"
    "        return 2;\n"
    "    fprintf(rec, \"diskpart /s\\n\");\n"
    "    char line[256];\n"
    "    int disk = -1;\n"
    "    while (fgets(line, sizeof line, in)) {\n"
    "        size_t l = strlen(line);\n"
    "        while (l && (line[l - 1] == '\\n' || line[l - 1] == '\\r' || line[l - 1] == ' '))\n"
    "            line[--l] = 0;\n"
    "        fprintf(rec, \"  %s\\n\", line);\n"
    "        sscanf(line, \"select disk %d\", &disk);\n"
    "        if (strcmp(line, \"online disk noerr\") == 0 && disk >= 1)\n"
    "            printf(\"stub diskpart: disk %d was offline, now online\\n\", disk);\n"
    "    }\n"
    "    fclose(in);\n"
    "    fclose(rec);\n"
    "    return 0;\n"
    "}\n";

static void
test_disks_online_cmd_under_wine(void **state)
{
    ts_fixture *tf = *state;
    ts_require_program("wine");
    ts_require_program("x86_64-w64-mingw32-gcc");
    size_t len = 0;
    const unsigned char *exe = hk_win_firstboot_helper(HK_WIN_ARCH_X64, &len);
    if (!exe)
        fail_msg("libhyper2kvm was built without the Windows first-boot helper");

    /* the step for a three-disk Windows Server 2008 R2 (x64): the .cmd form */
    hk_win_version os = {
        .major = 6, .minor = 1, .build = 7601, .server = true, .arch = HK_WIN_ARCH_X64};
    hk_win_fb_step step = {0};
    assert_int_equal(hk_win_fb_script_disks_online(tf->ctx, 40, &os, 3, &step), 0);
    assert_string_equal(step.name, "0040-disks-online.cmd");

    char *prefix = ts_join(tf->dir, "wine");
    char *fb = ts_join(prefix, "drive_c/fb");
    char *scripts = ts_join(fb, "scripts");
    char *done = ts_join(fb, "done");
    const char *boot[] = {"wineboot", "--init", NULL};
    free(ts_wine_run(prefix, boot));
    assert_int_equal(mkdir(fb, 0700), 0);
    assert_int_equal(mkdir(scripts, 0700), 0);
    char *exe_path = ts_join(fb, "h2kfirstboot.exe");
    ts_write_file(exe_path, exe, len);
    char *step_path = ts_join(scripts, step.name);
    ts_write_file(step_path, step.text, strlen(step.text));

    /* the diskpart stand-in, where the step calls it: %SystemRoot%\System32 */
    char *src = ts_join(tf->dir, "diskpart.c");
    ts_write_file(src, stub_c, strlen(stub_c));
    char *dp = ts_join(prefix, "drive_c/windows/system32/diskpart.exe");
    const char *cc[] = {"x86_64-w64-mingw32-gcc", "-O1", "-o", dp, src, NULL};
    ts_run_ok(cc);

    const char *run[] = {"C:\\fb\\h2kfirstboot.exe", "--run", NULL};
    free(ts_wine_run(prefix, run));

    char *calls_path = ts_join(prefix, "drive_c/diskpart-calls.txt");
    char *calls = ts_read_file(calls_path, NULL);
    /* written in text mode: CRLF; compare without the CRs */
    char *wp = calls;
    for (const char *rp = calls; *rp; rp++)
        if (*rp != '\r')
            *wp++ = *rp;
    *wp = '\0';
    /* the SAN policy first, then every disk of the VM in order */
    const char *want_calls[] = {
        "diskpart /s\n  san policy=OnlineAll\n",
        "diskpart /s\n  select disk 0\n  online disk noerr\n  attributes disk clear readonly noerr\n",
        "diskpart /s\n  select disk 1\n  online disk noerr\n  attributes disk clear readonly noerr\n",
        "diskpart /s\n  select disk 2\n  online disk noerr\n  attributes disk clear readonly noerr\n",
    };
    const char *at = calls;
    for (size_t i = 0; i < HK_ARRAY_LEN(want_calls); i++) {
        const char *hit = strstr(at, want_calls[i]);
        if (!hit)
            fail_msg("diskpart was not called with \"%s\" (in order); its calls:\n%s",
                     want_calls[i], calls);
        at = hit + strlen(want_calls[i]);
    }
    assert_null(strstr(calls, "select disk 3"));

    char *log_path = ts_join(fb, "firstboot.log");
    char *log = ts_read_file(log_path, NULL);
    const char *want_log[] = {
        "step 0040-disks-online.cmd: start:",
        "diskpart: san policy=OnlineAll",
        "diskpart: disk 0",
        "diskpart exit code 0",
        "diskpart: disk 1",
        "stub diskpart: disk 1 was offline, now online",
        "diskpart: disk 2",
        "stub diskpart: disk 2 was offline, now online",
        "step 0040-disks-online.cmd: exit code 0",
        "first boot: all steps done (1 step, 0 failed)",
    };
    at = log;
    for (size_t i = 0; i < HK_ARRAY_LEN(want_log); i++) {
        const char *hit = strstr(at, want_log[i]);
        if (!hit)
            fail_msg("firstboot.log lacks \"%s\" (in order); the log:\n%s", want_log[i], log);
        at = hit + strlen(want_log[i]);
    }
    assert_int_equal(ts_count_dir(done), 1);
    assert_int_equal(ts_count_dir(scripts), 0);
    /* its diskpart script in %TEMP% is gone */
    char *find = hk_asprintf("find '%s/drive_c' -name h2k-firstboot-diskpart.txt | wc -l", prefix);
    const char *sh[] = {"sh", "-c", find, NULL};
    char *count = NULL;
    assert_int_equal(ts_run(sh, &count), 0);
    assert_int_equal(atoi(count), 0);
    free(count);
    free(find);

    char *env = hk_asprintf("WINEPREFIX=%s", prefix);
    const char *wait[] = {"env", env, "wineserver", "-w", NULL};
    ts_run_ok(wait);
    free(env);
    free(log);
    free(log_path);
    free(calls);
    free(calls_path);
    free(dp);
    free(src);
    free(step_path);
    free(exe_path);
    free(done);
    free(scripts);
    free(fb);
    free(prefix);
    hk_win_fb_step_clear(&step);
}

/* Windows 8 / 2012 and later: the PowerShell form, as text */
static void
test_disks_online_ps1(void **state)
{
    ts_fixture *tf = *state;
    hk_win_version os = {
        .major = 10, .minor = 0, .build = 20348, .server = true, .arch = HK_WIN_ARCH_X64};
    hk_win_fb_step step = {0};
    assert_int_equal(hk_win_fb_script_disks_online(tf->ctx, 40, &os, 2, &step), 0);
    assert_string_equal(step.name, "0040-disks-online.ps1");
    const char *want[] = {
        "Set-StorageSetting -NewDiskPolicy OnlineAll",
        "foreach ($d in Get-Disk) {",
        "if (-not $d.IsOffline) {",
        "Set-Disk -Number $n -IsOffline $false",
        "if ((Get-Disk -Number $n).IsReadOnly) {",
        "Set-Disk -Number $n -IsReadOnly $false",
        "$failed++",
        "if ($failed -ne 0) { exit 1 }",
    };
    const char *at = step.text;
    for (size_t i = 0; i < HK_ARRAY_LEN(want); i++) {
        const char *hit = strstr(at, want[i]);
        if (!hit)
            fail_msg("the .ps1 step lacks \"%s\" (in order):\n%s", want[i], step.text);
        at = hit + strlen(want[i]);
    }
    hk_win_fb_step_clear(&step);
    /* the .cmd form needs the number of disks: 0 is refused */
    os.major = 6;
    os.minor = 1;
    assert_int_equal(hk_win_fb_script_disks_online(tf->ctx, 40, &os, 0, &step), H2K_ERR_VALIDATION);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_disks_online_cmd_under_wine, ts_fixture_setup,
                                        ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_disks_online_ps1, ts_fixture_setup,
                                        ts_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

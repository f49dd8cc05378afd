/*
 * The first-boot helper itself (the x64 build embedded into the library) runs
 * its steps under Wine, in console mode (--run): the Win32 side of the runner
 * (FindFirstFile, CreateProcess with the log as stdout and stderr, exit
 * codes, MoveFileEx into done\) on a real Win32 implementation.  Checked:
 * the steps run in name order, a step may add a step, each step's start,
 * output and exit code are in firstboot.log, a .ps1 step goes to PowerShell
 * (Wine's is a stub that runs nothing and exits 0), every step ends in
 * done\, other files and names that are no step stay, and a second run runs
 * nothing again.
 * What Wine cannot show: the service control manager starting it at boot as
 * LocalSystem and DeleteService (see windows/firstboot/README.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testsupport.h"

#include "fix/win_firstboot.h"

static void
put(const char *dir, const char *name, const char *text)
{
    char *p = ts_join(dir, name);
    ts_write_file(p, text, strlen(text));
    free(p);
}

static void
test_runner_under_wine(void **state)
{
    ts_fixture *tf = *state;
    ts_require_program("wine");
    size_t len = 0;
    const unsigned char *exe = hk_win_firstboot_helper(HK_WIN_ARCH_X64, &len);
    if (!exe)
        fail_msg("libhyper2kvm was built without the Windows first-boot helper");

    char *prefix = ts_join(tf->dir, "wine");
    char *fb = ts_join(prefix, "drive_c/fb");
    char *scripts = ts_join(fb, "scripts");
    char *done = ts_join(fb, "done");
    /* the prefix is made by the first wine call; our folder goes in after */
    const char *boot[] = {"wineboot", "--init", NULL};
    free(ts_wine_run(prefix, boot));
    assert_int_equal(mkdir(fb, 0700), 0);
    assert_int_equal(mkdir(scripts, 0700), 0);
    char *exe_path = ts_join(fb, "h2kfirstboot.exe");
    ts_write_file(exe_path, exe, len);

    put(scripts, "0020-second.cmd", "@echo off\r\necho second step output\r\nexit /b 3\r\n");
    put(scripts, "0010-first.cmd",
        "@echo off\r\necho first step output\r\n"
        "> \"%~dp0\\0030-added.cmd\" echo @echo added step output\r\nexit /b 0\r\n");
    put(scripts, "0040-network.ps1", "Write-Output 'never'\r\n");
    put(scripts, "notes.txt", "not a step\r\n");
    put(scripts, "0050-bad&name.cmd", "@echo never\r\n");

    const char *run[] = {"C:\\fb\\h2kfirstboot.exe", "--run", NULL};
    free(ts_wine_run(prefix, run));

    char *log_path = ts_join(fb, "firstboot.log");
    char *log = ts_read_file(log_path, NULL);
    /* in order, each with its start, output and exit code */
    const char *want[] = {
        "first boot: starting",
        "step 0010-first.cmd: start: \"C:\\windows\\system32\\cmd.exe\" /d /c "
        "\"\"C:\\fb\\scripts\\0010-first.cmd\"\"",
        "first step output",
        "step 0010-first.cmd: exit code 0",
        "step 0020-second.cmd: start:",
        "second step output",
        "step 0020-second.cmd: exit code 3 (failed)",
        "step 0030-added.cmd: start:",
        "added step output",
        "step 0030-added.cmd: exit code 0",
        "step 0040-network.ps1: start: \"C:\\windows\\system32\\WindowsPowerShell\\v1.0\\"
        "powershell.exe\" -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "
        "\"C:\\fb\\scripts\\0040-network.ps1\"",
        "step 0040-network.ps1: exit code 0",
        "first boot: all steps done (4 steps, 1 failed)",
    };
    const char *at = log;
    for (size_t i = 0; i < HK_ARRAY_LEN(want); i++) {
        const char *hit = strstr(at, want[i]);
        if (!hit)
            fail_msg("firstboot.log lacks \"%s\" (in order); the log:\n%s", want[i], log);
        at = hit + strlen(want[i]);
    }
    assert_null(strstr(log, "never"));
    assert_non_null(strstr(log, "\r\n"));
    assert_int_equal(ts_count_dir(done), 4);
    /* left in scripts\: what is not a step */
    assert_int_equal(ts_count_dir(scripts), 2);
    char *kept = ts_join(scripts, "notes.txt");
    assert_true(ts_exists(kept));
    free(kept);

    /* a second start runs nothing again */
    free(ts_wine_run(prefix, run));
    char *log2 = ts_read_file(log_path, NULL);
    assert_non_null(strstr(log2 + strlen(log), "first boot: all steps done (0 steps, 0 failed)"));
    assert_null(strstr(log2 + strlen(log), "step 00"));
    /* wait for this prefix's wineserver to end before the folder goes */
    char *env = hk_asprintf("WINEPREFIX=%s", prefix);
    const char *wait[] = {"env", env, "wineserver", "-w", NULL};
    ts_run_ok(wait);
    free(env);
    free(log2);
    free(log);
    free(log_path);
    free(exe_path);
    free(done);
    free(scripts);
    free(fb);
    free(prefix);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_runner_under_wine, ts_fixture_setup,
                                        ts_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

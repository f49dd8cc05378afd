/*
 * h2kfirstboot.exe: the Windows service that runs hyper2kvm's first-boot
 * steps.  hyper2kvm installs it offline into the converted guest:
 *
 *   <dir>\h2kfirstboot.exe    this program
 *   <dir>\scripts\NNNN-*.cmd  the steps, run in order (and *.ps1)
 *   <dir>\done\               where each step goes once it ran
 *   <dir>\firstboot.log       start, command line, output and exit code of each step
 *
 * and registers it as an automatic service running as LocalSystem, so it runs
 * at the next boot without anyone logging in.  When no step is left it
 * deletes its own service registration (and, with --remove-self, schedules
 * its own deletion at the next restart).  The logic lives in fb_runner.c;
 * this file only supplies the Windows operations.
 *
 * usage: h2kfirstboot.exe --service NAME [--remove-self] [--reboot-if-needed]
 *            run by the service control manager as service NAME
 *        h2kfirstboot.exe --run [--service NAME]
 *            runs the steps in this console (unregisters NAME when given)
 *
 * Cross-compiled with mingw-w64; ANSI Win32 API (every path we write is ASCII).
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fb_runner.h"

#define STEP_TIME_LIMIT_MS (60u * 60u * 1000u) /* one hour per step */
#define SERVICE_NAME_MAX 64

typedef struct fb_state {
    char service[SERVICE_NAME_MAX + 1]; /* "" in console mode without --service */
    bool remove_self;
    bool reboot_if_needed;
    bool console;
    char exe[MAX_PATH];
    char base[MAX_PATH];
    char scripts[MAX_PATH];
    char done[MAX_PATH];
    char log_path[MAX_PATH];
    char system_dir[MAX_PATH];
    HANDLE log;              /* inheritable, append-only */
    volatile LONG stop;
    SERVICE_STATUS_HANDLE status_handle;
    SERVICE_STATUS status;
} fb_state;

/* The service control manager calls ServiceMain without a context pointer:
 * the one state of this process lives here. */
static fb_state g_state;

static void
log_write(fb_state *st, const char *text)
{
    DWORD w;
    if (st->log != INVALID_HANDLE_VALUE)
        WriteFile(st->log, text, (DWORD)strlen(text), &w, NULL);
    if (st->console)
        fputs(text, stdout);
}

static void
op_log(void *ud, const char *line)
{
    fb_state *st = ud;
    SYSTEMTIME t;
    char stamp[40];
    GetLocalTime(&t);
    snprintf(stamp, sizeof(stamp), "%04u-%02u-%02u %02u:%02u:%02u ", t.wYear, t.wMonth, t.wDay,
             t.wHour, t.wMinute, t.wSecond);
    log_write(st, stamp);
    log_write(st, line);
    log_write(st, "\r\n");
}

static int
op_list(void *ud, char ***names, size_t *n)
{
    fb_state *st = ud;
    char pattern[MAX_PATH + 4];
    WIN32_FIND_DATAA fd;
    *names = NULL;
    *n = 0;
    if (snprintf(pattern, sizeof(pattern), "%s\\*", st->scripts) >= (int)sizeof(pattern))
        return -1;
    HANDLE h = FindFirstFileA(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE)
        return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : -1;
    size_t cap = 0;
    int rc = 0;
    do {
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(*names, nc * sizeof(char *));
            if (!nn) {
                rc = -1;
                break;
            }
            *names = nn;
            cap = nc;
        }
        char *copy = _strdup(fd.cFileName);
        if (!copy) {
            rc = -1;
            break;
        }
        (*names)[(*n)++] = copy;
    } while (FindNextFileA(h, &fd));
    FindClose(h);
    return rc;
}

static void
op_free_list(void *ud, char **names, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void
op_run(void *ud, const char *name, const char *cmdline, long *exit_code)
{
    fb_state *st = ud;
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
    char *line = _strdup(cmdline); /* CreateProcess may write into it */
    HANDLE nul = CreateFileA("NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                             OPEN_EXISTING, 0, NULL);
    (void)name;
    *exit_code = HK_FB_EXIT_NOT_STARTED;
    memset(&si, 0, sizeof(si));
    memset(&pi, 0, sizeof(pi));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = nul;
    si.hStdOutput = st->log;
    si.hStdError = st->log;
    if (line && CreateProcessA(NULL, line, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, st->scripts,
                               &si, &pi)) {
        DWORD code = 0;
        if (WaitForSingleObject(pi.hProcess, STEP_TIME_LIMIT_MS) == WAIT_TIMEOUT) {
            TerminateProcess(pi.hProcess, 1);
            WaitForSingleObject(pi.hProcess, 10000);
            *exit_code = HK_FB_EXIT_TIMED_OUT;
        } else if (GetExitCodeProcess(pi.hProcess, &code)) {
            *exit_code = (long)code;
        }
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
    } else {
        char msg[128];
        snprintf(msg, sizeof(msg), "CreateProcess failed: error %lu", GetLastError());
        op_log(st, msg);
    }
    if (nul != INVALID_HANDLE_VALUE)
        CloseHandle(nul);
    free(line);
}

static int
op_move_done(void *ud, const char *name)
{
    fb_state *st = ud;
    char from[MAX_PATH], to[MAX_PATH];
    if (snprintf(from, sizeof(from), "%s\\%s", st->scripts, name) >= (int)sizeof(from) ||
        snprintf(to, sizeof(to), "%s\\%s", st->done, name) >= (int)sizeof(to))
        return -1;
    CreateDirectoryA(st->done, NULL);
    return MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) ? 0 : -1;
}

static bool
op_stop_requested(void *ud)
{
    fb_state *st = ud;
    return InterlockedCompareExchange(&st->stop, 0, 0) != 0;
}

static int
op_unregister(void *ud)
{
    fb_state *st = ud;
    int rc = 0;
    if (st->service[0]) {
        SC_HANDLE scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT);
        SC_HANDLE svc = scm ? OpenServiceA(scm, st->service, DELETE) : NULL;
        /* the registration goes once this process has stopped */
        if (!svc || !DeleteService(svc)) {
            char msg[128];
            snprintf(msg, sizeof(msg), "DeleteService(%s) failed: error %lu", st->service,
                     GetLastError());
            op_log(st, msg);
            rc = -1;
        }
        if (svc)
            CloseServiceHandle(svc);
        if (scm)
            CloseServiceHandle(scm);
    }
    if (rc == 0 && st->remove_self) {
        if (MoveFileExA(st->exe, NULL, MOVEFILE_DELAY_UNTIL_REBOOT))
            op_log(st, "first boot: this program is deleted at the next restart");
        else
            op_log(st, "first boot: cannot schedule this program's deletion");
    }
    return rc;
}

static void
reboot(fb_state *st)
{
    HANDLE token;
    TOKEN_PRIVILEGES tp;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token)) {
        if (LookupPrivilegeValueA(NULL, SE_SHUTDOWN_NAME, &tp.Privileges[0].Luid)) {
            tp.PrivilegeCount = 1;
            tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
            AdjustTokenPrivileges(token, FALSE, &tp, 0, NULL, NULL);
        }
        CloseHandle(token);
    }
    if (InitiateSystemShutdownExA(NULL, "hyper2kvm first boot: restarting to complete", 10, TRUE,
                                  TRUE,
                                  SHTDN_REASON_MAJOR_OPERATINGSYSTEM |
                                      SHTDN_REASON_MINOR_RECONFIG | SHTDN_REASON_FLAG_PLANNED))
        op_log(st, "first boot: restarting in 10 seconds");
    else
        op_log(st, "first boot: the restart could not be started");
}

static int
setup_paths(fb_state *st)
{
    DWORD n = GetModuleFileNameA(NULL, st->exe, sizeof(st->exe));
    if (n == 0 || n >= sizeof(st->exe))
        return -1;
    memcpy(st->base, st->exe, n + 1);
    char *slash = strrchr(st->base, '\\');
    if (!slash)
        return -1;
    *slash = '\0';
    n = GetSystemDirectoryA(st->system_dir, sizeof(st->system_dir));
    if (n == 0 || n >= sizeof(st->system_dir))
        return -1;
    if (snprintf(st->scripts, sizeof(st->scripts), "%s\\scripts", st->base) >=
            (int)sizeof(st->scripts) ||
        snprintf(st->done, sizeof(st->done), "%s\\done", st->base) >= (int)sizeof(st->done) ||
        snprintf(st->log_path, sizeof(st->log_path), "%s\\firstboot.log", st->base) >=
            (int)sizeof(st->log_path))
        return -1;
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
    st->log = CreateFileA(st->log_path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                          OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    return 0;
}

static int
run_steps(fb_state *st)
{
    hk_fb_ops ops = { st,          op_list, op_free_list,      op_run,
                      op_move_done, op_log, op_stop_requested, op_unregister };
    hk_fb_summary sum;
    int rc = hk_fb_run(&ops, st->system_dir, st->scripts, &sum);
    if (rc == 0 && sum.reboot) {
        if (st->reboot_if_needed)
            reboot(st);
        else
            op_log(st, "first boot: restart the machine to complete the steps");
    }
    return rc;
}

static void
report(fb_state *st, DWORD state, DWORD exit_code)
{
    st->status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    st->status.dwCurrentState = state;
    st->status.dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
    st->status.dwWin32ExitCode = exit_code;
    st->status.dwWaitHint = state == SERVICE_START_PENDING ? 30000 : 0;
    st->status.dwCheckPoint = 0;
    SetServiceStatus(st->status_handle, &st->status);
}

static DWORD WINAPI
control(DWORD ctl, DWORD type, LPVOID data, LPVOID ctx)
{
    fb_state *st = ctx;
    (void)type;
    (void)data;
    if (ctl == SERVICE_CONTROL_STOP || ctl == SERVICE_CONTROL_SHUTDOWN) {
        InterlockedExchange(&st->stop, 1);
        report(st, SERVICE_STOP_PENDING, NO_ERROR);
        return NO_ERROR;
    }
    return ctl == SERVICE_CONTROL_INTERROGATE ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

static void WINAPI
service_main(DWORD argc, LPSTR *argv)
{
    fb_state *st = &g_state;
    (void)argc;
    (void)argv;
    st->status_handle = RegisterServiceCtrlHandlerExA(st->service, control, st);
    if (!st->status_handle)
        return;
    report(st, SERVICE_START_PENDING, NO_ERROR);
    /* running: the steps may take long (driver installation, an uninstaller) */
    report(st, SERVICE_RUNNING, NO_ERROR);
    run_steps(st);
    if (st->log != INVALID_HANDLE_VALUE)
        FlushFileBuffers(st->log);
    report(st, SERVICE_STOPPED, NO_ERROR);
}

static bool
valid_service_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SERVICE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static int
usage(void)
{
    fputs("usage: h2kfirstboot --service NAME [--remove-self] [--reboot-if-needed]\n"
          "       h2kfirstboot --run [--service NAME]\n",
          stderr);
    return 2;
}

int
main(int argc, char **argv)
{
    fb_state *st = &g_state;
    st->log = INVALID_HANDLE_VALUE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--service") == 0 && i + 1 < argc) {
            if (!valid_service_name(argv[++i]))
                return usage();
            strcpy(st->service, argv[i]);
        } else if (strcmp(argv[i], "--remove-self") == 0) {
            st->remove_self = true;
        } else if (strcmp(argv[i], "--reboot-if-needed") == 0) {
            st->reboot_if_needed = true;
        } else if (strcmp(argv[i], "--run") == 0) {
            st->console = true;
        } else {
            return usage();
        }
    }
    if (!st->console && !st->service[0])
        return usage();
    if (setup_paths(st) < 0) {
        fputs("h2kfirstboot: cannot find its folder\n", stderr);
        return 1;
    }
    if (st->console)
        return run_steps(st) == 0 ? 0 : 1;
    SERVICE_TABLE_ENTRYA table[] = { { st->service, service_main }, { NULL, NULL } };
    if (!StartServiceCtrlDispatcherA(table)) {
        op_log(st, "first boot: not started by the service control manager");
        return 1;
    }
    return 0;
}

/*
 * The first-boot runner's logic, free of any Windows API: which files of the
 * scripts folder are steps, in which order they run, the command line each
 * one runs with, what is logged, and when the service may remove itself.
 *
 * The same source is compiled three times: into the Windows service
 * (h2kfirstboot.exe, with service.c supplying the real operations), into
 * libhyper2kvm (which names the steps it installs with the same rules, so the
 * runner is sure to pick them up) and into the native unit tests (with
 * in-memory operations).  Portable C11, no global state; safe to call from
 * several threads at once.
 */
#ifndef HK_FB_RUNNER_H
#define HK_FB_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

/* Longest step name accepted ("NNNN-name.ext"), without its NUL. */
#define HK_FB_NAME_MAX 64

/* Exit code a step runs into when it could not be started at all. */
#define HK_FB_EXIT_NOT_STARTED (-1L)
/* Exit code reported for a step that was stopped after its time limit. */
#define HK_FB_EXIT_TIMED_OUT (-2L)

typedef enum hk_fb_kind {
    HK_FB_NOT_A_STEP = 0, /* any other file: left alone */
    HK_FB_CMD,            /* NNNN-name.cmd, run by cmd.exe */
    HK_FB_PS1,            /* NNNN-name.ps1, run by Windows PowerShell */
} hk_fb_kind;

/* What @name is: a step is four decimal digits, '-', then 1 to 54 of
 * [A-Za-z0-9_.-] ending in ".cmd" or ".ps1" (any case).  Nothing else (no
 * spaces, quotes, '%', '&', '^', path separators) is ever run. */
hk_fb_kind hk_fb_step_kind(const char *name);

/* Orders two step names: ASCII case-insensitive, as Windows compares file
 * names, then byte-wise so that the order is total. */
int hk_fb_step_cmp(const char *a, const char *b);

/* Keeps the steps of @names (n of them) at the front of the array in run
 * order and returns how many there are; the other pointers end up after them. */
size_t hk_fb_select_steps(const char **names, size_t n);

/* Writes into @buf (@size bytes) the command line that runs step @name of
 * folder @scripts_dir (a Windows path without trailing backslash) with the
 * interpreters of @system_dir (e.g. "C:\Windows\system32"):
 *   "SYS\cmd.exe" /d /c ""DIR\NAME""
 *   "SYS\WindowsPowerShell\v1.0\powershell.exe" -NoLogo -NoProfile
 *       -NonInteractive -ExecutionPolicy Bypass -File "DIR\NAME"
 * Returns 0, or -1 when @name is not a step, a folder holds a '"' or the
 * line does not fit. */
int hk_fb_command_line(char *buf, size_t size, const char *system_dir, const char *scripts_dir,
                       const char *name);

/* True when an exit code asks for a restart to complete (3010
 * ERROR_SUCCESS_REBOOT_REQUIRED, 1641 ERROR_SUCCESS_REBOOT_INITIATED). */
bool hk_fb_exit_wants_reboot(long code);

/* The operations the run needs; the service gives the Windows ones, the tests
 * in-memory ones.  Every callback gets @ud. */
typedef struct hk_fb_ops {
    void *ud;
    /* Names of the files in the scripts folder, in any order, any number.
     * Sets *names (an array the run frees with free_list) and *n; returns 0,
     * or -1 when the folder cannot be read. */
    int (*list)(void *ud, char ***names, size_t *n);
    void (*free_list)(void *ud, char **names, size_t n);
    /* Runs @cmdline for step @name with its output going to the log; waits
     * for it and stores its exit code (or HK_FB_EXIT_NOT_STARTED /
     * HK_FB_EXIT_TIMED_OUT) in *exit_code. */
    void (*run)(void *ud, const char *name, const char *cmdline, long *exit_code);
    /* Moves step @name into the done folder; 0 or -1. */
    int (*move_done)(void *ud, const char *name);
    /* Appends one line (no newline) to the log. */
    void (*log)(void *ud, const char *line);
    /* True once the service was asked to stop (checked between steps). */
    bool (*stop_requested)(void *ud);
    /* Removes the service registration (and the program itself when so
     * configured); 0 or -1.  Called once, after the last step. */
    int (*unregister)(void *ud);
} hk_fb_ops;

typedef struct hk_fb_summary {
    unsigned ran;        /* steps started */
    unsigned failed;     /* of which ended with an exit code other than 0, 3010, 1641 */
    bool reboot;         /* a step asked for a restart */
    bool finished;       /* no step left: the service was unregistered */
    bool interrupted;    /* stopped before the end (stop request, folder or move error) */
} hk_fb_summary;

/* Runs the steps: lists the folder, runs the first step in order, logs its
 * start, command line and exit code, moves it into the done folder, and
 * lists again (a step may add steps) until no step is left; then logs the
 * end and unregisters.  A step that cannot be moved aside ends the run
 * without unregistering (it would run again and again otherwise), as does a
 * stop request: the next boot goes on where this one stopped.  A step runs
 * at most once per call.  Fills *out; returns 0 when every step ran and the
 * service was unregistered, else -1. */
int hk_fb_run(const hk_fb_ops *ops, const char *system_dir, const char *scripts_dir,
              hk_fb_summary *out);

#endif /* HK_FB_RUNNER_H */

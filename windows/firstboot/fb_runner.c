/*
 * The first-boot runner's logic (see fb_runner.h): no Windows API here.
 */
#include "fb_runner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           c == '-' || c == '.';
}

static bool
ends_with_nocase(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    if (len < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[len - n + i]) != lower((unsigned char)suffix[i]))
            return false;
    return true;
}

hk_fb_kind
hk_fb_step_kind(const char *name)
{
    if (!name)
        return HK_FB_NOT_A_STEP;
    size_t len = strlen(name);
    /* "NNNN-" + at least one character + ".cmd" */
    if (len < 10 || len > HK_FB_NAME_MAX)
        return HK_FB_NOT_A_STEP;
    for (size_t i = 0; i < 4; i++)
        if (!is_digit(name[i]))
            return HK_FB_NOT_A_STEP;
    if (name[4] != '-')
        return HK_FB_NOT_A_STEP;
    for (size_t i = 5; i < len; i++)
        if (!is_name_char(name[i]))
            return HK_FB_NOT_A_STEP;
    if (ends_with_nocase(name, len, ".cmd"))
        return HK_FB_CMD;
    if (ends_with_nocase(name, len, ".ps1"))
        return HK_FB_PS1;
    return HK_FB_NOT_A_STEP;
}

int
hk_fb_step_cmp(const char *a, const char *b)
{
    for (size_t i = 0;; i++) {
        int ca = lower((unsigned char)a[i]), cb = lower((unsigned char)b[i]);
        if (ca != cb)
            return ca < cb ? -1 : 1;
        if (!ca)
            break;
    }
    int c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}

static int
cmp_ptr(const void *pa, const void *pb)
{
    return hk_fb_step_cmp(*(const char *const *)pa, *(const char *const *)pb);
}

size_t
hk_fb_select_steps(const char **names, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (hk_fb_step_kind(names[i]) != HK_FB_NOT_A_STEP) {
            const char *t = names[k];
            names[k++] = names[i];
            names[i] = t;
        }
    }
    if (k > 1)
        qsort(names, k, sizeof(*names), cmp_ptr);
    return k;
}

int
hk_fb_command_line(char *buf, size_t size, const char *system_dir, const char *scripts_dir,
                   const char *name)
{
    hk_fb_kind kind = hk_fb_step_kind(name);
    if (kind == HK_FB_NOT_A_STEP || !system_dir || !scripts_dir || strchr(system_dir, '"') ||
        strchr(scripts_dir, '"'))
        return -1;
    int n;
    if (kind == HK_FB_CMD)
        /* /d: no AutoRun commands; with /c, cmd drops the outer pair of quotes */
        n = snprintf(buf, size, "\"%s\\cmd.exe\" /d /c \"\"%s\\%s\"\"", system_dir, scripts_dir,
                     name);
    else
        n = snprintf(buf, size,
                     "\"%s\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoLogo -NoProfile "
                     "-NonInteractive -ExecutionPolicy Bypass -File \"%s\\%s\"",
                     system_dir, scripts_dir, name);
    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

bool
hk_fb_exit_wants_reboot(long code)
{
    return code == 3010 || code == 1641;
}

static void logf_line(const hk_fb_ops *ops, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
logf_line(const hk_fb_ops *ops, const char *fmt, ...)
{
    char line[2048 + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    ops->log(ops->ud, line);
}

/* The first step of the listing that did not run yet in this call; copied
 * into @out.  Returns 1 when found, 0 when none is left, -1 on error. */
static int
next_step(const hk_fb_ops *ops, char (*tried)[HK_FB_NAME_MAX + 1], size_t n_tried,
          char out[HK_FB_NAME_MAX + 1])
{
    char **names = NULL;
    size_t n = 0;
    if (ops->list(ops->ud, &names, &n) < 0)
        return -1;
    const char **sel = n ? malloc(n * sizeof(*sel)) : NULL;
    if (n && !sel) {
        ops->free_list(ops->ud, names, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        sel[i] = names[i];
    size_t k = hk_fb_select_steps(sel, n);
    int found = 0;
    for (size_t i = 0; i < k && !found; i++) {
        bool seen = false;
        for (size_t j = 0; j < n_tried && !seen; j++)
            seen = strcmp(tried[j], sel[i]) == 0;
        if (!seen) {
            memcpy(out, sel[i], strlen(sel[i]) + 1);
            found = 1;
        }
    }
    /* a step that ran but is still there could not be moved: reported by the caller */
    free(sel);
    ops->free_list(ops->ud, names, n);
    return found;
}

int
hk_fb_run(const hk_fb_ops *ops, const char *system_dir, const char *scripts_dir,
          hk_fb_summary *out)
{
    hk_fb_summary sum = { 0 };
    char (*tried)[HK_FB_NAME_MAX + 1] = NULL;
    size_t n_tried = 0;
    char cmdline[2048];
    char codebuf[64];
    int rc = -1;

    ops->log(ops->ud, "first boot: starting");
    for (;;) {
        if (ops->stop_requested && ops->stop_requested(ops->ud)) {
            ops->log(ops->ud, "first boot: stop requested; the remaining steps run at the "
                              "next start");
            sum.interrupted = true;
            goto done;
        }
        char name[HK_FB_NAME_MAX + 1];
        int f = next_step(ops, tried, n_tried, name);
        if (f < 0) {
            logf_line(ops, "first boot: cannot list the scripts folder %s", scripts_dir);
            sum.interrupted = true;
            goto done;
        }
        if (f == 0)
            break;
        void *nt = realloc(tried, (n_tried + 1) * sizeof(*tried));
        if (!nt) {
            ops->log(ops->ud, "first boot: out of memory");
            sum.interrupted = true;
            goto done;
        }
        tried = nt;
        memcpy(tried[n_tried++], name, sizeof(name));

        long code = HK_FB_EXIT_NOT_STARTED;
        if (hk_fb_command_line(cmdline, sizeof(cmdline), system_dir, scripts_dir, name) < 0) {
            logf_line(ops, "step %s: cannot build its command line (folder %s)", name,
                      scripts_dir);
        } else {
            logf_line(ops, "step %s: start: %s", name, cmdline);
            ops->run(ops->ud, name, cmdline, &code);
            sum.ran++;
        }
        if (code == HK_FB_EXIT_NOT_STARTED)
            snprintf(codebuf, sizeof(codebuf), "not started");
        else if (code == HK_FB_EXIT_TIMED_OUT)
            snprintf(codebuf, sizeof(codebuf), "stopped after its time limit");
        else
            snprintf(codebuf, sizeof(codebuf), "exit code %ld%s", code,
                     hk_fb_exit_wants_reboot(code) ? " (restart required)"
                     : code == 0                   ? ""
                                                   : " (failed)");
        logf_line(ops, "step %s: %s", name, codebuf);
        if (hk_fb_exit_wants_reboot(code))
            sum.reboot = true;
        else if (code != 0)
            sum.failed++;
        if (ops->move_done(ops->ud, name) < 0) {
            logf_line(ops, "step %s: cannot move it to the done folder; stopping here so that "
                           "it does not run again",
                      name);
            sum.interrupted = true;
            goto done;
        }
    }
    snprintf(codebuf, sizeof(codebuf), "%u step%s, %u failed", sum.ran, sum.ran == 1 ? "" : "s",
             sum.failed);
    logf_line(ops, "first boot: all steps done (%s)%s", codebuf,
              sum.reboot ? "; a restart is required" : "");
    if (ops->unregister(ops->ud) < 0) {
        ops->log(ops->ud, "first boot: cannot remove the service registration");
        goto done;
    }
    ops->log(ops->ud, "first boot: service registration removed");
    sum.finished = true;
    rc = 0;
done:
    free(tried);
    if (out)
        *out = sum;
    return rc;
}

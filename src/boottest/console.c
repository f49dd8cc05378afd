/*
 * The serial console scanner: splits the output into lines, removes escape
 * sequences and control characters, keeps the last lines, and looks for the
 * proof of boot and for known failures.  Pure: fed by the testers.
 */
#include <stdlib.h>
#include <string.h>

#include "boot_internal.h"

#define LINE_MAX_BYTES 4096
#define MAX_ADDRESSES 32

/* Known failures: a line containing every part of one entry. */
static const struct {
    const char *a, *b;
    const char *what;
} failures[] = {
    {"Kernel panic", NULL, "kernel panic"},
    {"ALERT!", NULL, "the initramfs did not find the root file system"},
    {"Dropping to a shell", NULL, "the initramfs dropped to a shell"},
    {"dracut-initqueue", "timeout", "dracut timed out waiting for the root device"},
    {"Dropping to debug shell", NULL, "dracut dropped to its emergency shell"},
    {"emergency mode", NULL, "the system entered emergency mode"},
    {"Give root password for maintenance", NULL, "the system stopped for maintenance"},
    {"No bootable device", NULL, "the firmware found no bootable device"},
    {"not a bootable disk", NULL, "the firmware found no bootable disk"},
    /* OVMF: every boot option failed, and its build has no shell */
    {"No bootable option or device was found", NULL,
     "the UEFI firmware found no bootable option or device"},
};

/* OVMF with a shell: every boot option failed, the shell ran no startup.nsh
   (or finished it) and waits at its prompt, which has no newline.  Starting
   the shell is not the failure: a startup.nsh may be the guest's boot, and
   the shell echoes each of its commands after the same prompt, so a read can
   end between the two.  Only a prompt the console stays quiet on is idle:
   hk_console_idle() judges it. */
#define UEFI_SHELL_PROMPT "Shell>"
#define UEFI_SHELL_WAITING                                                                         \
    "the UEFI firmware found nothing to boot and its shell waits at the prompt"

/* The length of @line without its trailing blanks. */
static size_t
len_without_trailing_blanks(const char *line)
{
    size_t n = strlen(line);
    while (n && line[n - 1] == ' ')
        n--;
    return n;
}

/* The whole line, without trailing blanks, is the UEFI shell's prompt. */
static bool
is_uefi_shell_prompt(const char *line)
{
    size_t n = len_without_trailing_blanks(line);
    return n == strlen(UEFI_SHELL_PROMPT) && strncmp(line, UEFI_SHELL_PROMPT, n) == 0;
}

static void
set_failure(hk_console *c, const char *what, const char *line)
{
    c->state = HK_CONSOLE_FAILED;
    c->failure = strdup(what);
    c->failure_line = strdup(line);
    if (!c->failure || !c->failure_line)
        c->oom = true;
}

char *
hk_console_sanitize(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        unsigned char c = (unsigned char)*r;
        if (c == 0x1b) {
            /* ESC [ params final | ESC ( X | ESC X */
            if (r[1] == '[') {
                r += 2;
                while (*r && !(*r >= 0x40 && *r <= 0x7e))
                    r++;
                if (!*r)
                    break;
            } else if (r[1] == '(' || r[1] == ')') {
                r += r[2] ? 2 : 1;
            } else if (r[1]) {
                r++;
            }
            continue;
        }
        if (c == '\t') {
            *w++ = ' ';
        } else if (c >= 0x80) {
            /* the report is JSON: a byte the serial line lost must not leave
               half a UTF-8 character behind */
            size_t l = hk_str_safe_char_len(r, strnlen(r, 4));
            if (l == 0) {
                *w++ = '?';
                continue;
            }
            memmove(w, r, l);
            w += l;
            r += l - 1;
        } else if (c >= 0x20 && c != 0x7f) {
            *w++ = (char)c;
        }
    }
    *w = '\0';
    return s;
}

int
hk_console_init(hk_console *c, h2k_boot_proof proof, const char *token, const char *expect_text)
{
    memset(c, 0, sizeof(*c));
    c->proof = proof;
    c->token = hk_strdup0(token);
    c->expect_text = hk_strdup0(expect_text);
    if ((token && !c->token) || (expect_text && !c->expect_text)) {
        hk_console_free(c);
        return H2K_ERR_NO_MEMORY;
    }
    return 0;
}

void
hk_console_free(hk_console *c)
{
    if (!c)
        return;
    free(c->token);
    free(c->expect_text);
    free(c->proof_line);
    free(c->failure);
    free(c->failure_line);
    free(c->hostname);
    for (size_t i = 0; i < c->n_addresses; i++)
        free(c->addresses[i]);
    free(c->addresses);
    hk_buf_free(&c->partial);
    for (size_t i = 0; i < HK_BOOT_TAIL_LINES; i++)
        free(c->lines[i]);
    memset(c, 0, sizeof(*c));
}

/* "H2K-BOOT-OK <token> <hostname> [addr...]": parse what follows the token. */
static bool
parse_marker(hk_console *c, const char *line)
{
    if (!c->token)
        return false;
    const char *m = line;
    size_t tl = strlen(c->token);
    for (;;) {
        m = strstr(m, "H2K-BOOT-OK ");
        if (!m)
            return false;
        m += strlen("H2K-BOOT-OK ");
        if (strncmp(m, c->token, tl) == 0 && m[tl] == ' ')
            break;
    }
    const char *p = m + tl;
    char *copy = strdup(p);
    if (!copy) {
        c->oom = true;
        return true;
    }
    char *save = NULL;
    int field = 0;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save), field++) {
        if (field == 0) {
            c->hostname = strdup(t);
            continue;
        }
        if (strcmp(t, "none") == 0 || c->n_addresses >= MAX_ADDRESSES || strlen(t) > 64)
            continue;
        char **na = realloc(c->addresses, (c->n_addresses + 1) * sizeof(char *));
        if (!na) {
            c->oom = true;
            break;
        }
        c->addresses = na;
        if ((c->addresses[c->n_addresses] = strdup(t)))
            c->n_addresses++;
    }
    free(copy);
    return true;
}

/* "login:" at the end of a line: "host login:" (a getty prompt has no newline). */
static bool
is_login_prompt(const char *line)
{
    size_t n = len_without_trailing_blanks(line);
    if (n < 6 || strncmp(line + n - 6, "login:", 6) != 0)
        return false;
    /* "Last login:" is printed after a login, never by the prompt */
    return !(n >= 11 && strncmp(line + n - 11, "Last login:", 11) == 0);
}

static void
check_line(hk_console *c, const char *line, bool complete)
{
    if (c->state != HK_CONSOLE_WAITING)
        return;
    bool proven = false;
    switch (c->proof) {
    case H2K_PROOF_MARKER:
        proven = complete && parse_marker(c, line);
        break;
    case H2K_PROOF_LOGIN:
        proven = is_login_prompt(line);
        break;
    case H2K_PROOF_TEXT:
        proven = c->expect_text && strstr(line, c->expect_text) != NULL;
        break;
    }
    if (proven) {
        c->state = HK_CONSOLE_PROVEN;
        free(c->proof_line);
        if (!(c->proof_line = strdup(line)))
            c->oom = true;
        return;
    }
    if (!complete)
        return;
    for (size_t i = 0; i < HK_ARRAY_LEN(failures); i++) {
        if (strstr(line, failures[i].a) && (!failures[i].b || strstr(line, failures[i].b))) {
            set_failure(c, failures[i].what, line);
            return;
        }
    }
}

static void
end_line(hk_console *c)
{
    char *line = c->partial.data ? hk_buf_steal(&c->partial) : strdup("");
    hk_buf_free(&c->partial);
    if (!line) {
        c->oom = true;
        return;
    }
    hk_console_sanitize(line);
    check_line(c, line, true);
    size_t slot = c->n_lines % HK_BOOT_TAIL_LINES;
    free(c->lines[slot]);
    c->lines[slot] = line;
    c->n_lines++;
}

hk_console_state
hk_console_feed(hk_console *c, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = data[i];
        if (ch == '\n') {
            end_line(c);
        } else if (ch == '\0') {
            continue;
        } else if (c->partial.len < LINE_MAX_BYTES) {
            hk_buf_append(&c->partial, &ch, 1);
            if (c->partial.oom) {
                c->oom = true;
                hk_buf_free(&c->partial);
            }
        }
    }
    /* a prompt (or an expected text) may wait without its newline */
    if (c->state == HK_CONSOLE_WAITING && c->partial.len) {
        char *line = hk_strndup(c->partial.data, c->partial.len);
        if (line) {
            hk_console_sanitize(line);
            check_line(c, line, false);
            free(line);
        }
    }
    return c->state;
}

hk_console_state
hk_console_idle(hk_console *c)
{
    if (c->state != HK_CONSOLE_WAITING || !c->partial.len)
        return c->state;
    char *line = hk_strndup(c->partial.data, c->partial.len);
    if (!line) {
        c->oom = true;
        return c->state;
    }
    hk_console_sanitize(line);
    if (is_uefi_shell_prompt(line))
        set_failure(c, UEFI_SHELL_WAITING, line);
    free(line);
    return c->state;
}

char *
hk_console_tail(const hk_console *c)
{
    hk_buf b = {0};
    hk_buf_puts(&b, "");
    size_t have = c->n_lines < HK_BOOT_TAIL_LINES ? c->n_lines : HK_BOOT_TAIL_LINES;
    for (size_t k = c->n_lines - have; k < c->n_lines; k++) {
        const char *l = c->lines[k % HK_BOOT_TAIL_LINES];
        hk_buf_printf(&b, "%s\n", l ? l : "");
    }
    if (c->partial.len) {
        char *line = hk_strndup(c->partial.data, c->partial.len);
        if (line) {
            hk_console_sanitize(line);
            hk_buf_printf(&b, "%s\n", line);
            free(line);
        }
    }
    return hk_buf_steal(&b);
}

/*
 * The ssh(1) command line of the live fixer.  Nothing from the caller or the
 * remote host reaches the remote shell unquoted, and no value can become an
 * ssh option: the host and user are restricted to plain characters and come
 * after "--" or as the argument of -l, the files are single argv elements.
 */
#include <stdlib.h>
#include <string.h>

#include "live_internal.h"

static bool
plain(const char *s, const char *extra)
{
    if (!s || !*s || *s == '-')
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr(extra, c) != NULL;
        if (!ok)
            return false;
    }
    return true;
}

static bool
no_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int
hk_ssh_target_check(h2k_ctx *ctx, const hk_ssh_target *t)
{
    if (!t)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "live fix: no target");
    if (!plain(t->host, ".-_:") || strlen(t->host) > 253)
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "live fix: host: not a host name or address: \"%s\"",
                        t->host ? t->host : "(none)");
    if (!plain(t->user, ".-_") || strlen(t->user) > 64)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "live fix: user: not a user name: \"%s\"",
                        t->user ? t->user : "(none)");
    if (t->port < 1 || t->port > 65535)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "live fix: port: %u is not 1..65535", t->port);
    if (!t->key_file || !*t->key_file || !no_control(t->key_file))
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "live fix: key_file: a private key file is required");
    const char *kh = t->known_hosts_file;
    if (!kh || !*kh || !no_control(kh) || strpbrk(kh, " \t\"'\\"))
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "live fix: known_hosts_file: \"%s\" cannot be passed to ssh (blanks, "
                        "quotes or control characters)",
                        kh ? kh : "(none)");
    return 0;
}

char *
hk_ssh_remote_command(const hk_ssh_target *t, const char *cmd)
{
    char *q = hk_sh_quote(cmd);
    if (!q)
        return NULL;
    char *r = hk_asprintf("%ssh -c %s", t->sudo ? "sudo -n -- " : "", q);
    free(q);
    return r;
}

/* ssh expands %-tokens in file options: "%" is written "%%". */
static char *
percent_escape(const char *prefix, const char *s)
{
    hk_buf b = {0};
    hk_buf_puts(&b, prefix);
    for (const char *p = s; *p; p++) {
        if (*p == '%')
            hk_buf_puts(&b, "%%");
        else
            hk_buf_append(&b, p, 1);
    }
    return hk_buf_steal(&b);
}

void
hk_ssh_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

char **
hk_ssh_argv(const hk_ssh_target *t, const char *cmd)
{
    enum {
        MAX = 40
    };
    char **v = calloc(MAX, sizeof(char *));
    if (!v)
        return NULL;
    size_t n = 0;
    bool ok = true;
#define ADD(expr)                                                                                  \
    do {                                                                                           \
        char *s_ = (expr);                                                                         \
        if (!s_)                                                                                   \
            ok = false;                                                                            \
        else                                                                                       \
            v[n++] = s_;                                                                           \
    } while (0)
    ADD(strdup("ssh"));
    ADD(strdup("-F"));
    ADD(strdup("/dev/null"));
    ADD(strdup("-o"));
    ADD(strdup("BatchMode=yes"));
    ADD(strdup("-o"));
    ADD(strdup(t->accept_new_host_key ? "StrictHostKeyChecking=accept-new"
                                      : "StrictHostKeyChecking=yes"));
    ADD(strdup("-o"));
    ADD(percent_escape("UserKnownHostsFile=", t->known_hosts_file));
    ADD(strdup("-o"));
    ADD(strdup("GlobalKnownHostsFile=/dev/null"));
    ADD(strdup("-o"));
    ADD(strdup("IdentitiesOnly=yes"));
    ADD(strdup("-o"));
    ADD(strdup("IdentityAgent=none"));
    ADD(strdup("-o"));
    ADD(strdup("PasswordAuthentication=no"));
    ADD(strdup("-o"));
    ADD(strdup("KbdInteractiveAuthentication=no"));
    ADD(strdup("-o"));
    ADD(hk_asprintf("ConnectTimeout=%u", t->connect_timeout ? t->connect_timeout : 15));
    ADD(strdup("-o"));
    ADD(strdup("ServerAliveInterval=15"));
    ADD(strdup("-o"));
    ADD(strdup("LogLevel=ERROR"));
    ADD(strdup("-i"));
    ADD(percent_escape("", t->key_file));
    ADD(strdup("-p"));
    ADD(hk_asprintf("%u", t->port));
    ADD(strdup("-l"));
    ADD(strdup(t->user));
    ADD(strdup("--"));
    ADD(strdup(t->host));
    ADD(hk_ssh_remote_command(t, cmd));
#undef ADD
    if (!ok) {
        hk_ssh_argv_free(v);
        return NULL;
    }
    return v;
}

int
hk_ssh_classify(const char *e, const char **cause)
{
    static const struct {
        const char *needle;
        int code;
        const char *cause;
    } table[] = {
        {"Permission denied", H2K_ERR_AUTHENTICATION, "the key was refused"},
        {"UNPROTECTED PRIVATE KEY", H2K_ERR_AUTHENTICATION,
         "the private key file is readable by others (ssh refuses it)"},
        {"Load key", H2K_ERR_AUTHENTICATION, "the private key file cannot be loaded"},
        {"REMOTE HOST IDENTIFICATION HAS CHANGED", H2K_ERR_CONNECTION,
         "the host key CHANGED from the one in known_hosts"},
        {"host key is known for", H2K_ERR_CONNECTION,
         "the host key is not in known_hosts (verify it and add it, or accept a new key "
         "explicitly)"},
        {"Host key verification failed", H2K_ERR_CONNECTION,
         "the host key could not be verified against known_hosts"},
        {"Connection refused", H2K_ERR_CONNECTION, "the connection was refused"},
        {"timed out", H2K_ERR_CONNECTION, "the host did not answer (connection timed out)"},
        {"No route to host", H2K_ERR_CONNECTION, "no route to the host"},
        {"Could not resolve hostname", H2K_ERR_CONNECTION, "the host name does not resolve"},
        {"Connection closed", H2K_ERR_CONNECTION, "the connection was closed by the host"},
        {"Connection reset", H2K_ERR_CONNECTION, "the connection was reset by the host"},
    };
    for (size_t i = 0; e && i < HK_ARRAY_LEN(table); i++)
        if (strstr(e, table[i].needle)) {
            if (cause)
                *cause = table[i].cause;
            return table[i].code;
        }
    if (cause)
        *cause = "ssh failed";
    return H2K_ERR_CONNECTION;
}

/*
 * The live fixer's SSH layer: the ssh(1) argv for one remote command, built
 * only from fixed strings and checked or quoted values, and the remote command
 * wrapping (sh -c, sudo -n).  Pure functions, unit-tested.
 */
#ifndef HK_FIX_LIVE_INTERNAL_H
#define HK_FIX_LIVE_INTERNAL_H

#include <stdbool.h>

#include "core/internal.h"

typedef struct hk_ssh_target {
    const char *host;
    unsigned port;
    const char *user;
    const char *key_file;
    const char *known_hosts_file; /* never NULL once checked */
    bool accept_new_host_key;
    bool sudo;
    unsigned connect_timeout;
} hk_ssh_target;

/* Checks every value that reaches ssh's argv: host ([A-Za-z0-9._:-], not
 * starting with '-'), user ([A-Za-z0-9._-], not starting with '-'), port
 * 1..65535, key file and known_hosts file given, without control characters
 * (the known_hosts path also without blanks or quotes: ssh splits that option's
 * value).  Returns 0 or H2K_ERR_INVALID_ARG naming the field. */
int hk_ssh_target_check(h2k_ctx *ctx, const hk_ssh_target *t);

/* The string ssh passes to the remote shell: "sh -c '<cmd>'" or, with sudo,
 * "sudo -n -- sh -c '<cmd>'" (<cmd> quoted with hk_sh_quote()).  Caller frees;
 * NULL on allocation failure. */
char *hk_ssh_remote_command(const hk_ssh_target *t, const char *cmd);

/* The argv of ssh running @cmd on @t (checked with hk_ssh_target_check()):
 *   ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes|accept-new
 *       -o UserKnownHostsFile=FILE -o IdentitiesOnly=yes -o PasswordAuthentication=no
 *       -o KbdInteractiveAuthentication=no -o ConnectTimeout=N -o LogLevel=ERROR
 *       -i KEY -p PORT -l USER -- HOST REMOTE
 * ('%' in file names doubled: ssh expands %-tokens in them).  NULL-terminated,
 * caller frees with hk_ssh_argv_free(); NULL on allocation failure. */
char **hk_ssh_argv(const hk_ssh_target *t, const char *cmd);
void hk_ssh_argv_free(char **argv);

/* How an ssh failure (exit 255) reads, from its stderr: H2K_ERR_AUTHENTICATION
 * (key refused), H2K_ERR_CONNECTION (host key unknown or changed, refused,
 * unreachable, timed out), and a short cause in *cause (static). */
int hk_ssh_classify(const char *stderr_text, const char **cause);

#endif

/*
 * h2k_live_fixer: the offline fixer's transforms applied to a running guest
 * over SSH.  Every remote command is one of the fixed scripts below, with the
 * values it needs (paths, kernel versions) passed through hk_sh_quote(); file
 * contents travel on ssh's stdin, never on a command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/json_util.h"
#include "core/util.h"
#include "fixer_internal.h"
#include "fstab_xform.h"
#include "grub_xform.h"
#include "live_internal.h"
#include "net_xform.h"

#define MAX_REMOTE_FILE (16u << 20)
#define OUTPUT_TAIL 4096
#define EOF_MARK "H2K-EOF-7d1c"

static const char *const virtio_modules[] = {"virtio_blk", "virtio_scsi", "virtio_net",
                                             "virtio_pci"};

struct h2k_live_fixer {
    h2k_ctx *ctx;
    h2k_live_fix_options opts; /* strings point into the copies below */
    char *host, *user, *key_file, *known_hosts;
    hk_ssh_target target;
    char *tmp_dir; /* private folder for stdin files */
    unsigned n_tmp;
    h2k_fix_result **results;
    size_t n_results;
    /* facts of the guest, from one probe */
    char **nic_names, **nic_macs;
    size_t n_nics;
    char **kernels;
    size_t n_kernels;
    char **netcfgs;
    size_t n_netcfgs;
    bool initramfs_tools, dracut, systemd;
    char *grub_mkconfig; /* "update-grub", "grub-mkconfig", "grub2-mkconfig" or NULL */
    char *grub_cfg;      /* path of grub.cfg or NULL */
    char *pkg;           /* "dpkg" or "rpm" or NULL */
};

/* The context's current error message (copied by hk_fix_fail's formatting). */
static const char *
lasterr(const h2k_live_fixer *lf)
{
    const h2k_error *e = h2k_ctx_last_error(lf->ctx);
    return e && e->message ? e->message : "error";
}

HK_OPTS_LAYOUT(live_layout, h2k_live_fix_options, sizeof(h2k_live_fix_options));

static const h2k_live_fix_options live_defaults = H2K_LIVE_FIX_OPTIONS_INIT;

int
h2k_live_fix_options_init(h2k_live_fix_options *opts, unsigned version)
{
    return hk_opts_init(&live_layout, opts, version, &live_defaults);
}

static void
clear_facts(h2k_live_fixer *lf)
{
    hk_strv_clear(&lf->nic_names, &lf->n_nics);
    size_t n = 0;
    for (size_t i = 0; lf->nic_macs && lf->nic_macs[i]; i++)
        n++;
    for (size_t i = 0; i < n; i++)
        free(lf->nic_macs[i]);
    free(lf->nic_macs);
    lf->nic_macs = NULL;
    hk_strv_clear(&lf->kernels, &lf->n_kernels);
    hk_strv_clear(&lf->netcfgs, &lf->n_netcfgs);
    free(lf->grub_mkconfig);
    free(lf->grub_cfg);
    free(lf->pkg);
    lf->grub_mkconfig = lf->grub_cfg = lf->pkg = NULL;
    lf->initramfs_tools = lf->dracut = lf->systemd = false;
}

static void
clear_results(h2k_live_fixer *lf)
{
    for (size_t i = 0; i < lf->n_results; i++)
        h2k_fix_result_free(lf->results[i]);
    free(lf->results);
    lf->results = NULL;
    lf->n_results = 0;
}

int
h2k_live_fixer_new(h2k_ctx *ctx, const h2k_live_fix_options *opts, h2k_live_fixer **out)
{
    if (!ctx || !out)
        return H2K_ERR_INVALID_ARG;
    *out = NULL;
    if (!opts)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "live fix: options are required");
    h2k_live_fixer *lf = calloc(1, sizeof(*lf));
    if (!lf)
        return hk_error_nomem(ctx);
    lf->ctx = ctx;
    int rc = hk_opts_import(ctx, &live_layout, opts, &live_defaults, &lf->opts);
    if (rc < 0) {
        free(lf);
        return rc;
    }
    lf->host = hk_strdup0(opts->host);
    lf->user = hk_strdup0(opts->user);
    lf->key_file = hk_strdup0(opts->key_file);
    if (opts->known_hosts_file) {
        lf->known_hosts = strdup(opts->known_hosts_file);
    } else {
        const char *home = getenv("HOME");
        lf->known_hosts = hk_asprintf("%s/.ssh/known_hosts", home && *home ? home : "/root");
    }
    lf->opts.host = lf->host;
    lf->opts.user = lf->user;
    lf->opts.key_file = lf->key_file;
    lf->opts.known_hosts_file = lf->known_hosts;
    if (!lf->opts.command_timeout)
        lf->opts.command_timeout = 1800;
    lf->target = (hk_ssh_target){.host = lf->host,
                                 .port = lf->opts.port,
                                 .user = lf->user,
                                 .key_file = lf->key_file,
                                 .known_hosts_file = lf->known_hosts,
                                 .accept_new_host_key = lf->opts.accept_new_host_key != 0,
                                 .sudo = lf->opts.sudo != 0,
                                 .connect_timeout = lf->opts.connect_timeout};
    rc = hk_ssh_target_check(ctx, &lf->target);
    if (rc == 0 && access(lf->key_file, R_OK) != 0)
        rc = hk_error_errno(ctx, errno, lf->key_file, "live fix: key file");
    if (rc == 0 && lf->opts.fixes & ~(unsigned)H2K_FIX_ALL)
        rc = hk_error(ctx, H2K_ERR_INVALID_ARG, "live fix: fixes: unknown bits 0x%x",
                      lf->opts.fixes & ~(unsigned)H2K_FIX_ALL);
    if (rc < 0) {
        h2k_live_fixer_free(lf);
        return rc;
    }
    *out = lf;
    return 0;
}

void
h2k_live_fixer_free(h2k_live_fixer *lf)
{
    if (!lf)
        return;
    clear_results(lf);
    clear_facts(lf);
    if (lf->tmp_dir) {
        rmdir(lf->tmp_dir);
        free(lf->tmp_dir);
    }
    free(lf->host);
    free(lf->user);
    free(lf->key_file);
    free(lf->known_hosts);
    free(lf);
}

/* ------------------------------------------------------------ remote exec */

typedef struct exec_out {
    hk_buf out;
    size_t limit;
    bool too_big;
} exec_out;

static void
on_line(void *ud, const char *line)
{
    exec_out *eo = ud;
    size_t n = strlen(line);
    if (eo->out.len + n + 1 > eo->limit) {
        eo->too_big = true;
        return;
    }
    hk_buf_append(&eo->out, line, n);
    hk_buf_append(&eo->out, "\n", 1);
}

static const char *
port_str(const h2k_live_fixer *lf, char *buf, size_t n)
{
    snprintf(buf, n, "%u", lf->opts.port);
    return buf;
}

/* Writes @data to a new private file for ssh's stdin; its path in *path. */
static int
stdin_file(h2k_live_fixer *lf, const char *data, char **path)
{
    *path = NULL;
    if (!lf->tmp_dir) {
        int rc = hk_temp_dir(lf->ctx, "h2k-live-", "live fix work folder", &lf->tmp_dir);
        if (rc < 0)
            return rc;
    }
    char *p = hk_asprintf("%s/in-%u", lf->tmp_dir, lf->n_tmp++);
    if (!p)
        return hk_error_nomem(lf->ctx);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = hk_error_errno(lf->ctx, errno, p, "live fix: stdin file");
        free(p);
        return rc;
    }
    size_t len = strlen(data), off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0) {
            int rc = hk_error_errno(lf->ctx, errno, p, "live fix: stdin file");
            close(fd);
            unlink(p);
            free(p);
            return rc;
        }
        off += (size_t)w;
    }
    close(fd);
    *path = p;
    return 0;
}

/* Runs @cmd on the guest.  Returns its exit status (>= 0), or a negative
 * h2k_code when ssh could not run it (connection, authentication, sudo,
 * timeout: recorded on the context, naming host and port).  *out gets stdout
 * (caller frees; may be NULL), *err the stderr tail. */
static int
remote(h2k_live_fixer *lf, const char *cmd, const char *input, char **out, char **err)
{
    if (out)
        *out = NULL;
    if (err)
        *err = NULL;
    int rc = hk_check_cancel(lf->ctx);
    if (rc < 0)
        return rc;
    char *in_path = NULL;
    if (input && (rc = stdin_file(lf, input, &in_path)) < 0)
        return rc;
    char **argv = hk_ssh_argv(&lf->target, cmd);
    if (!argv) {
        free(in_path);
        return hk_error_nomem(lf->ctx);
    }
    exec_out eo = {.limit = MAX_REMOTE_FILE + 64};
    hk_run_opts ro = {.on_stdout_line = on_line,
                      .userdata = &eo,
                      .timeout_seconds = lf->opts.command_timeout + lf->opts.connect_timeout,
                      .stdin_file = in_path};
    hk_run_result res = {0};
    hk_debug(lf->ctx, "live", "ssh %s@%s: %s", lf->user, lf->host, cmd);
    rc = hk_run(lf->ctx, (const char *const *)argv, &ro, &res);
    hk_ssh_argv_free(argv);
    if (in_path) {
        unlink(in_path);
        free(in_path);
    }
    char pb[16];
    if (rc < 0) {
        hk_buf_free(&eo.out);
        hk_run_result_clear(&res);
        return rc;
    }
    if (res.timed_out) {
        rc = hk_error(lf->ctx, H2K_ERR_TIMEOUT,
                      "live fix: %s port %s: a command did not finish within %u s: %s", lf->host,
                      port_str(lf, pb, sizeof pb), lf->opts.command_timeout, cmd);
    } else if (res.exit_status == 255) {
        const char *cause = NULL;
        int code = hk_ssh_classify(res.stderr_tail, &cause);
        char *e = hk_strtrim(res.stderr_tail ? res.stderr_tail : (char[]){""});
        rc = hk_error(lf->ctx, code,
                      "live fix: ssh to %s@%s port %s: %s; nothing was changed by this "
                      "command (ssh: %s)",
                      lf->user, lf->host, port_str(lf, pb, sizeof pb), cause, e);
    } else if (lf->target.sudo && res.stderr_tail &&
               strstr(res.stderr_tail, "sudo: a password is required")) {
        rc = hk_error(lf->ctx, H2K_ERR_AUTHENTICATION,
                      "live fix: %s@%s port %s: sudo -n asks for a password (the user needs "
                      "passwordless sudo)",
                      lf->user, lf->host, port_str(lf, pb, sizeof pb));
    } else if (eo.too_big || eo.out.oom) {
        rc = hk_error(lf->ctx, eo.too_big ? H2K_ERR_FORMAT : H2K_ERR_NO_MEMORY,
                      "live fix: %s: output over %u bytes: %s", lf->host, MAX_REMOTE_FILE, cmd);
    } else {
        rc = res.exit_status;
    }
    if (rc >= 0 && out)
        *out = eo.out.data ? hk_buf_steal(&eo.out) : strdup("");
    hk_buf_free(&eo.out);
    if (err) {
        *err = res.stderr_tail;
        res.stderr_tail = NULL;
    }
    hk_run_result_clear(&res);
    return rc;
}

/* Runs a command that is part of a repair and records it.  A dry run records
 * it as not executed (when @writes) and returns 0. */
static int
record_cmd(h2k_live_fixer *lf, h2k_fix_result *r, const char *cmd, bool writes, char **out)
{
    if (out)
        *out = NULL;
    h2k_command_record *nc = realloc(r->commands, (r->n_commands + 1) * sizeof(*nc));
    if (!nc)
        return hk_error_nomem(lf->ctx);
    r->commands = nc;
    h2k_command_record *rec = &nc[r->n_commands++];
    memset(rec, 0, sizeof(*rec));
    rec->command = strdup(cmd);
    if (writes && lf->opts.dry_run) {
        rec->exit_status = -1;
        rec->output_tail = strdup("(dry run: not executed)");
        return 0;
    }
    hk_info(lf->ctx, "live", "%s: running: %s", lf->host, cmd);
    double t0 = hk_now();
    char *o = NULL, *e = NULL;
    int st = remote(lf, cmd, NULL, &o, &e);
    rec->duration_seconds = hk_now() - t0;
    rec->exit_status = st < 0 ? -1 : st;
    hk_buf b = {0};
    if (o)
        hk_buf_puts(&b, o);
    if (e && *e) {
        hk_buf_puts(&b, e);
    }
    char *all = hk_buf_steal(&b);
    if (all) {
        size_t n = strlen(all);
        rec->output_tail = strdup(n > OUTPUT_TAIL ? all + n - OUTPUT_TAIL : all);
    }
    free(all);
    free(e);
    if (out)
        *out = o;
    else
        free(o);
    return st;
}

/* Reads a remote file; NULL in *text when it does not exist.  Keeps a missing
 * final newline.  Returns 0 or a negative h2k_code. */
static int
read_remote(h2k_live_fixer *lf, const char *path, char **text)
{
    *text = NULL;
    char *q = hk_sh_quote(path);
    char *cmd = q ? hk_asprintf("if [ -f %s ]; then cat -- %s && echo " EOF_MARK
                                "; else echo H2K-ABSENT; fi",
                                q, q)
                  : NULL;
    free(q);
    if (!cmd)
        return hk_error_nomem(lf->ctx);
    char *o = NULL;
    int st = remote(lf, cmd, NULL, &o, NULL);
    free(cmd);
    if (st < 0)
        return st;
    if (st != 0 || !o) {
        free(o);
        return hk_error(lf->ctx, H2K_ERR_IO, "live fix: %s: cannot read %s (exit %d)", lf->host,
                        path, st);
    }
    if (strcmp(o, "H2K-ABSENT\n") == 0) {
        free(o);
        return 0;
    }
    size_t n = strlen(o);
    const size_t ml = strlen(EOF_MARK "\n");
    if (n < ml || strcmp(o + n - ml, EOF_MARK "\n") != 0) {
        free(o);
        return hk_error(lf->ctx, H2K_ERR_IO, "live fix: %s: %s was read incompletely", lf->host,
                        path);
    }
    o[n - ml] = '\0'; /* text ended with "\n" (or was empty): the mark was a line */
    /* a file without a final newline: the mark followed its last line; that
     * case leaves the text's last '\n' from on_line, which we drop */
    if (n - ml > 0 && o[n - ml - 1] != '\n')
        o[n - ml] = '\0';
    *text = o;
    return 0;
}

static h2k_file_change *
add_change(h2k_fix_result *r, const char *path, const char *action, const char *before,
           const char *after)
{
    h2k_file_change *nc = realloc(r->changes, (r->n_changes + 1) * sizeof(*nc));
    if (!nc)
        return NULL;
    r->changes = nc;
    h2k_file_change *c = &nc[r->n_changes++];
    memset(c, 0, sizeof(*c));
    c->path = strdup(path);
    c->action = strdup(action);
    c->before = hk_strdup0(before);
    c->after = hk_strdup0(after);
    if (r->status == H2K_FIX_STATUS_UNCHANGED)
        r->status = H2K_FIX_STATUS_CHANGED;
    return c;
}

static void
change_notes(h2k_file_change *c, char **notes, size_t n, const char *one)
{
    if (!c)
        return;
    if (notes) {
        c->notes = notes;
        c->n_notes = n;
        return;
    }
    if (one && (c->notes = calloc(2, sizeof(char *)))) {
        c->notes[0] = strdup(one);
        c->n_notes = c->notes[0] ? 1 : 0;
    }
}

/* Writes @text over @path atomically (temporary file beside it, renamed),
 * after keeping the original as PATH.hyper2kvm-orig (once).  A new file gets
 * mode 0644.  In a dry run nothing is written.  Returns 0 or < 0. */
static int
write_remote(h2k_live_fixer *lf, const char *path, const char *text)
{
    if (lf->opts.dry_run)
        return 0;
    char *q = hk_sh_quote(path);
    char *cmd = q ? hk_asprintf(
                        "set -e; p=%s; umask 077; mkdir -p -- \"$(dirname -- \"$p\")\"; "
                        "if [ -e \"$p\" ] && [ ! -e \"$p.hyper2kvm-orig\" ]; then "
                        "cp -p -- \"$p\" \"$p.hyper2kvm-orig\"; fi; "
                        "t=$(mktemp \"$p.h2k-XXXXXX\"); trap 'rm -f \"$t\"' EXIT; cat > \"$t\"; "
                        "if [ -e \"$p\" ]; then chmod --reference=\"$p\" \"$t\"; "
                        "chown --reference=\"$p\" \"$t\"; else chmod 644 \"$t\"; fi; "
                        "mv -f -- \"$t\" \"$p\"; sync",
                        q)
                  : NULL;
    free(q);
    if (!cmd)
        return hk_error_nomem(lf->ctx);
    char *e = NULL;
    int st = remote(lf, cmd, text, NULL, &e);
    free(cmd);
    if (st > 0)
        st = hk_error(lf->ctx, H2K_ERR_IO, "live fix: %s: cannot write %s (exit %d): %s", lf->host,
                      path, st, e ? hk_strtrim(e) : "");
    free(e);
    return st;
}

/* Transform result -> file written and change recorded. */
static int
apply_xform(h2k_live_fixer *lf, h2k_fix_result *r, const char *path, const char *before,
            hk_xform_out *xo)
{
    if (!xo->text)
        return 0;
    int rc = write_remote(lf, path, xo->text);
    if (rc < 0) {
        hk_fix_fail(r, "%s", lasterr(lf));
        return rc;
    }
    h2k_file_change *c = add_change(r, path, "modified", before, xo->text);
    change_notes(c, xo->notes, xo->n_notes, NULL);
    if (c) {
        xo->notes = NULL;
        xo->n_notes = 0;
    }
    return 0;
}

/* A whole file we own: written when absent or different. */
static int
put_file(h2k_live_fixer *lf, h2k_fix_result *r, const char *path, const char *text,
         const char *note)
{
    char *before = NULL;
    int rc = read_remote(lf, path, &before);
    if (rc < 0) {
        hk_fix_fail(r, "%s", lasterr(lf));
        return rc;
    }
    if (before && strcmp(before, text) == 0) {
        free(before);
        return 0;
    }
    rc = write_remote(lf, path, text);
    if (rc < 0) {
        free(before);
        hk_fix_fail(r, "%s", lasterr(lf));
        return rc;
    }
    change_notes(add_change(r, path, before ? "modified" : "created", before, text), NULL, 0, note);
    free(before);
    return 0;
}

/* ---------------------------------------------------------------- facts */

static const char probe_script[] =
    "echo \"uid=$(id -u)\"; "
    "for d in /sys/class/net/*; do [ -e \"$d/device\" ] && "
    "echo \"nic=${d##*/} $(cat \"$d/address\")\"; done; "
    "[ -d /etc/initramfs-tools ] && command -v update-initramfs >/dev/null && "
    "echo initramfs-tools=1; "
    "command -v dracut >/dev/null && echo dracut=1; "
    "[ -d /run/systemd/system ] && echo systemd=1; "
    "for k in /lib/modules/*; do [ -d \"$k/kernel\" ] && echo \"kernel=${k##*/}\"; done; "
    "for c in update-grub grub-mkconfig grub2-mkconfig; do command -v $c >/dev/null && "
    "{ echo \"mkconfig=$c\"; break; }; done; "
    "for c in /boot/grub/grub.cfg /boot/grub2/grub.cfg; do [ -f $c ] && "
    "{ echo \"grubcfg=$c\"; break; }; done; "
    "command -v dpkg >/dev/null && echo pkg=dpkg; "
    "command -v dpkg >/dev/null || { command -v rpm >/dev/null && echo pkg=rpm; }; "
    "for f in /etc/network/interfaces /etc/network/interfaces.d/* /etc/netplan/*.yaml "
    "/etc/NetworkManager/system-connections/* /etc/sysconfig/network-scripts/ifcfg-* "
    "/etc/sysconfig/network/ifcfg-* /etc/systemd/network/*.network /etc/systemd/network/*.link "
    "/etc/wicked/ifconfig/*.xml /etc/udev/rules.d/*net.rules; do [ -f \"$f\" ] && "
    "echo \"netcfg=$f\"; done; true";

static int
probe(h2k_live_fixer *lf)
{
    clear_facts(lf);
    char *o = NULL, *e = NULL;
    int st = remote(lf, probe_script, NULL, &o, &e);
    char pb[16];
    if (st > 0)
        st = hk_error(lf->ctx, H2K_ERR_GENERIC,
                      "live fix: %s port %s: the probe of the system failed (exit %d): %s",
                      lf->host, port_str(lf, pb, sizeof pb), st, e ? hk_strtrim(e) : "");
    free(e);
    if (st < 0) {
        free(o);
        return st;
    }
    bool root = false;
    size_t cap_macs = 0;
    char *sv = NULL;
    for (char *line = strtok_r(o, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *k = line, *v = eq + 1;
        if (strcmp(k, "uid") == 0) {
            root = strcmp(v, "0") == 0;
        } else if (strcmp(k, "nic") == 0) {
            const char *sp = strchr(v, ' ');
            if (!sp)
                continue;
            char *name = hk_strndup(v, (size_t)(sp - v));
            if (name && strlen(sp + 1) == 17) {
                size_t before = lf->n_nics;
                hk_strv_add(&lf->nic_names, &lf->n_nics, name);
                if (lf->n_nics > before) {
                    char **nm = realloc(lf->nic_macs, (lf->n_nics + 1) * sizeof(char *));
                    if (nm) {
                        lf->nic_macs = nm;
                        nm[lf->n_nics - 1] = strdup(sp + 1);
                        nm[lf->n_nics] = NULL;
                        cap_macs = lf->n_nics;
                    } else {
                        free(lf->nic_names[--lf->n_nics]);
                    }
                }
            }
            free(name);
        } else if (strcmp(k, "initramfs-tools") == 0) {
            lf->initramfs_tools = true;
        } else if (strcmp(k, "dracut") == 0) {
            lf->dracut = true;
        } else if (strcmp(k, "systemd") == 0) {
            lf->systemd = true;
        } else if (strcmp(k, "kernel") == 0) {
            hk_strv_add(&lf->kernels, &lf->n_kernels, v);
        } else if (strcmp(k, "mkconfig") == 0) {
            lf->grub_mkconfig = strdup(v);
        } else if (strcmp(k, "grubcfg") == 0) {
            lf->grub_cfg = strdup(v);
        } else if (strcmp(k, "pkg") == 0) {
            lf->pkg = strdup(v);
        } else if (strcmp(k, "netcfg") == 0) {
            hk_strv_add(&lf->netcfgs, &lf->n_netcfgs, v);
        }
    }
    (void)cap_macs;
    free(o);
    if (!root)
        return hk_error(lf->ctx, H2K_ERR_AUTHENTICATION,
                        "live fix: %s@%s port %s: commands do not run as root (use sudo)", lf->user,
                        lf->host, port_str(lf, pb, sizeof pb));
    return 0;
}

/* ---------------------------------------------------------- devices */

typedef struct devlist {
    hk_dev *devs;
    char **strs;
    size_t n, n_strs;
    hk_devmap map;
} devlist;

static const char *
own(devlist *dl, char *s)
{
    if (!s)
        return NULL;
    char **n = realloc(dl->strs, (dl->n_strs + 1) * sizeof(char *));
    if (!n) {
        free(s);
        return NULL;
    }
    dl->strs = n;
    n[dl->n_strs++] = s;
    return s;
}

static void
devlist_free(devlist *dl)
{
    for (size_t i = 0; i < dl->n_strs; i++)
        free(dl->strs[i]);
    free(dl->strs);
    free(dl->devs);
    memset(dl, 0, sizeof(*dl));
}

/* Value of KEY="..." in an lsblk -P line; NULL when absent or empty. */
static char *
pval(const char *line, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = line; (p = strstr(p, key)) != NULL; p += kl) {
        if ((p != line && p[-1] != ' ') || p[kl] != '=' || p[kl + 1] != '"')
            continue;
        const char *s = p + kl + 2, *e = strchr(s, '"');
        if (!e || e == s)
            return NULL;
        return hk_strndup(s, (size_t)(e - s));
    }
    return NULL;
}

static int
load_devices(h2k_live_fixer *lf, h2k_fix_result *r, devlist *dl)
{
    char *o = NULL;
    int st = record_cmd(lf, r, "lsblk -P -p -o NAME,TYPE,FSTYPE,UUID,LABEL,PARTUUID", false, &o);
    if (st != 0) {
        free(o);
        if (st > 0)
            hk_fix_fail(r, "lsblk failed (exit %d)", st);
        return st < 0 ? st : -1;
    }
    int disks = 0;
    char *sv = NULL;
    for (char *line = strtok_r(o, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv)) {
        char *name = pval(line, "NAME"), *type = pval(line, "TYPE");
        if (!name || !type) {
            free(name);
            free(type);
            continue;
        }
        hk_dev d = {.disk_index = -1};
        const char *b = name;
        if (hk_startswith(b, "/dev/xvd"))
            b += 8;
        else if (hk_startswith(b, "/dev/sd") || hk_startswith(b, "/dev/hd") ||
                 hk_startswith(b, "/dev/vd"))
            b += 7;
        else
            b = NULL;
        if (b && *b >= 'a' && *b <= 'z') {
            int idx = 0;
            while (*b >= 'a' && *b <= 'z')
                idx = idx * 26 + (*b++ - 'a' + 1);
            d.disk_index = idx - 1;
            d.partition = atoi(b);
        }
        if (strcmp(type, "disk") == 0)
            disks++;
        free(type);
        d.device = own(dl, name);
        d.fstype = own(dl, pval(line, "FSTYPE"));
        d.uuid = own(dl, pval(line, "UUID"));
        d.label = own(dl, pval(line, "LABEL"));
        d.partuuid = own(dl, pval(line, "PARTUUID"));
        hk_dev *nd = realloc(dl->devs, (dl->n + 1) * sizeof(*nd));
        if (!nd)
            break;
        dl->devs = nd;
        nd[dl->n++] = d;
    }
    free(o);
    dl->map = (hk_devmap){.devs = dl->devs, .n = dl->n, .n_disks = disks};
    return 0;
}

/* --------------------------------------------------------------- repairs */

static int
fix_fstab(h2k_live_fixer *lf, h2k_fix_result *r)
{
    devlist dl = {0};
    int rc = load_devices(lf, r, &dl);
    static const char *const files[] = {"/etc/fstab", "/etc/crypttab"};
    for (size_t i = 0; rc == 0 && i < HK_ARRAY_LEN(files); i++) {
        char *text = NULL;
        rc = read_remote(lf, files[i], &text);
        if (rc < 0) {
            hk_fix_fail(r, "%s", lasterr(lf));
            break;
        }
        if (!text)
            continue;
        hk_xform_out xo = {0};
        rc = i == 0 ? hk_fstab_xform(text, &dl.map, &xo) : hk_crypttab_xform(text, &dl.map, &xo);
        if (rc == 0)
            rc = apply_xform(lf, r, files[i], text, &xo);
        hk_xform_out_clear(&xo);
        free(text);
    }
    devlist_free(&dl);
    return rc;
}

static int
fix_grub(h2k_live_fixer *lf, h2k_fix_result *r)
{
    devlist dl = {0};
    int rc = load_devices(lf, r, &dl);
    bool regenerate = false;
    char *text = NULL;
    if (rc == 0 && (rc = read_remote(lf, "/etc/default/grub", &text)) < 0)
        hk_fix_fail(r, "%s", lasterr(lf));
    if (rc == 0 && text) {
        hk_xform_out xo = {0};
        rc = hk_grub_default_xform(text, &dl.map, &xo);
        if (rc == 0 && xo.text) {
            regenerate = true;
            rc = apply_xform(lf, r, "/etc/default/grub", text, &xo);
        }
        hk_xform_out_clear(&xo);
    }
    free(text);
    text = NULL;
    if (rc == 0 && lf->grub_cfg) {
        if ((rc = read_remote(lf, lf->grub_cfg, &text)) < 0)
            hk_fix_fail(r, "%s", lasterr(lf));
        hk_xform_out xo = {0};
        if (rc == 0 && text && (rc = hk_grub_cfg_xform(text, &dl.map, &xo)) == 0 && xo.text) {
            if (lf->grub_mkconfig && strcmp(lf->grub_mkconfig, "update-grub") != 0 &&
                !lf->opts.dry_run) {
                regenerate = true;
            } else if (!lf->grub_mkconfig) {
                rc = apply_xform(lf, r, lf->grub_cfg, text, &xo);
            } else {
                regenerate = true;
            }
        }
        if (regenerate && lf->grub_mkconfig) {
            char *q = hk_sh_quote(lf->grub_cfg);
            char *cmd = strcmp(lf->grub_mkconfig, "update-grub") == 0
                            ? strdup("update-grub 2>&1")
                            : (q ? hk_asprintf("%s -o %s 2>&1", lf->grub_mkconfig, q) : NULL);
            free(q);
            int st = cmd ? record_cmd(lf, r, cmd, true, NULL) : hk_error_nomem(lf->ctx);
            free(cmd);
            if (st != 0) {
                rc = st < 0 ? st : 0;
                hk_fix_fail(r, "%s failed (exit %d)", lf->grub_mkconfig, st);
            } else if (lf->opts.dry_run) {
                change_notes(add_change(r, lf->grub_cfg, "modified", text, xo.text), xo.notes,
                             xo.n_notes, NULL);
                xo.notes = NULL;
                xo.n_notes = 0;
            } else {
                char *after = NULL;
                if (read_remote(lf, lf->grub_cfg, &after) == 0 && after &&
                    (!text || strcmp(after, text) != 0))
                    change_notes(add_change(r, lf->grub_cfg, "modified", text, after), NULL, 0,
                                 "regenerated by the boot loader's own tool");
                free(after);
            }
        }
        hk_xform_out_clear(&xo);
        free(text);
    }
    devlist_free(&dl);
    return rc;
}

static hk_net_fmt
netcfg_fmt(const char *path)
{
    if (hk_startswith(path, "/etc/network/"))
        return HK_NET_IFUPDOWN;
    if (hk_startswith(path, "/etc/netplan/"))
        return HK_NET_NETPLAN;
    if (hk_startswith(path, "/etc/NetworkManager/"))
        return HK_NET_NM;
    if (hk_startswith(path, "/etc/sysconfig/"))
        return HK_NET_IFCFG;
    if (hk_startswith(path, "/etc/systemd/"))
        return HK_NET_NETWORKD;
    if (hk_startswith(path, "/etc/wicked/"))
        return HK_NET_WICKED;
    return HK_NET_UDEV;
}

static bool
ours(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    return hk_startswith(b, "10-hyper2kvm-") || strcmp(b, HK_NET_UDEV_RULES_FILE) == 0 ||
           strstr(b, ".hyper2kvm-orig") || strstr(b, ".h2k-") || strcmp(b, "ifcfg-lo") == 0;
}

static int
fix_network(h2k_live_fixer *lf, h2k_fix_result *r)
{
    hk_nic_rename *nics = calloc(lf->n_nics ? lf->n_nics : 1, sizeof(*nics));
    if (!nics)
        return hk_error_nomem(lf->ctx);
    size_t n = 0;
    for (size_t i = 0; i < lf->n_nics; i++)
        if (strcmp(lf->nic_macs[i], "00:00:00:00:00:00") != 0)
            nics[n++] = (hk_nic_rename){lf->nic_names[i], NULL, lf->nic_macs[i]};
    hk_net_policy p = {.nics = nics, .n = n, .keep_mac = true};
    int rc = 0;
    if (hk_net_policy_check(&p) != 0) {
        hk_fix_fail(r, "the guest's interface names or MACs are not usable");
        free(nics);
        return 0;
    }
    for (size_t i = 0; rc == 0 && i < lf->n_netcfgs; i++) {
        const char *path = lf->netcfgs[i];
        if (ours(path))
            continue;
        char *text = NULL;
        if ((rc = read_remote(lf, path, &text)) < 0) {
            hk_fix_fail(r, "%s", lasterr(lf));
            break;
        }
        if (!text)
            continue;
        hk_xform_out xo = {0};
        if (hk_net_xform(netcfg_fmt(path), text, &p, &xo) == 0)
            rc = apply_xform(lf, r, path, text, &xo);
        else
            hk_fix_note_warning(r, "%s not understood (left as is)", path);
        hk_xform_out_clear(&xo);
        free(text);
    }
    hk_net_link *links = NULL;
    size_t n_links = 0;
    if (rc == 0 && hk_net_link_files(&p, &links, &n_links) == 0 && n_links) {
        for (size_t i = 0; rc == 0 && lf->systemd && i < n_links; i++) {
            char *path = hk_asprintf("/etc/systemd/network/%s", links[i].file_name);
            char *note = hk_asprintf("pin %s to %s", links[i].name, links[i].mac);
            rc = path && note ? put_file(lf, r, path, links[i].link_text, note)
                              : hk_error_nomem(lf->ctx);
            free(path);
            free(note);
        }
        char *rules = rc == 0 ? hk_net_udev_rules(&p) : NULL;
        if (rules)
            rc = put_file(lf, r, "/etc/udev/rules.d/" HK_NET_UDEV_RULES_FILE, rules,
                          "interface names pinned to MACs for udev");
        free(rules);
    }
    hk_net_links_free(links, n_links);
    free(nics);
    if (rc == 0 && n == 0 && r->status == H2K_FIX_STATUS_UNCHANGED)
        r->status = H2K_FIX_STATUS_SKIPPED;
    return rc;
}

/* True when every kernel's initramfs holds (or its kernel builds in) the
 * virtio drivers; the check commands are recorded. */
static int
initramfs_has_virtio(h2k_live_fixer *lf, h2k_fix_result *r, bool *all)
{
    *all = true;
    for (size_t k = 0; k < lf->n_kernels; k++) {
        char *q = hk_sh_quote(lf->kernels[k]);
        char *cmd = q ? hk_asprintf(
                            "k=%s; f=/boot/initrd.img-$k; [ -e \"$f\" ] || "
                            "f=/boot/initramfs-$k.img; "
                            "grep -oE '(virtio_blk|virtio_scsi|virtio_net|virtio_pci)\\.ko' "
                            "\"/lib/modules/$k/modules.builtin\" 2>/dev/null; "
                            "{ lsinitramfs \"$f\" 2>/dev/null || lsinitrd \"$f\" 2>/dev/null; } | "
                            "grep -oE '(virtio_blk|virtio_scsi|virtio_net|virtio_pci)\\.ko' | "
                            "sort -u",
                            q)
                      : NULL;
        free(q);
        if (!cmd)
            return hk_error_nomem(lf->ctx);
        char *o = NULL;
        int st = record_cmd(lf, r, cmd, false, &o);
        free(cmd);
        if (st < 0) {
            free(o);
            return st;
        }
        for (size_t m = 0; m < HK_ARRAY_LEN(virtio_modules); m++) {
            char want[32];
            snprintf(want, sizeof want, "%s.ko", virtio_modules[m]);
            if (!o || !strstr(o, want))
                *all = false;
        }
        free(o);
    }
    return 0;
}

static int
fix_initramfs(h2k_live_fixer *lf, h2k_fix_result *r)
{
    if (!lf->n_kernels) {
        r->status = H2K_FIX_STATUS_SKIPPED;
        free(r->message);
        r->message = strdup("no installed kernel found under /lib/modules");
        return 0;
    }
    if (!lf->initramfs_tools && !lf->dracut) {
        r->status = H2K_FIX_STATUS_SKIPPED;
        free(r->message);
        r->message = strdup("neither initramfs-tools nor dracut is installed");
        return 0;
    }
    bool all = false;
    int rc = initramfs_has_virtio(lf, r, &all);
    if (rc < 0 || all)
        return rc;
    if (lf->initramfs_tools) {
        const char *path = "/etc/initramfs-tools/modules";
        char *text = NULL;
        if ((rc = read_remote(lf, path, &text)) < 0) {
            hk_fix_fail(r, "%s", lasterr(lf));
            return rc;
        }
        hk_buf b = {0};
        hk_buf_puts(&b, text ? text : "");
        if (b.len && b.data[b.len - 1] != '\n')
            hk_buf_puts(&b, "\n");
        bool added = false;
        for (size_t m = 0; m < HK_ARRAY_LEN(virtio_modules); m++) {
            bool have = false;
            for (const char *s = text; s && *s;) {
                const char *e = strchr(s, '\n');
                size_t len = e ? (size_t)(e - s) : strlen(s);
                if (len == strlen(virtio_modules[m]) && strncmp(s, virtio_modules[m], len) == 0)
                    have = true;
                s = e ? e + 1 : s + len;
            }
            if (!have) {
                if (!added)
                    hk_buf_puts(&b, "# added by hyper2kvm: virtio drivers for KVM\n");
                hk_buf_printf(&b, "%s\n", virtio_modules[m]);
                added = true;
            }
        }
        char *after = hk_buf_steal(&b);
        if (added && after) {
            rc = write_remote(lf, path, after);
            if (rc == 0)
                change_notes(add_change(r, path, text ? "modified" : "created", text, after), NULL,
                             0, "virtio_blk virtio_scsi virtio_net virtio_pci listed");
            else
                hk_fix_fail(r, "%s", lasterr(lf));
        }
        free(after);
        free(text);
        if (rc < 0)
            return rc;
        int st = record_cmd(lf, r, "update-initramfs -u -k all 2>&1", true, NULL);
        if (st < 0)
            return st;
        if (st > 0)
            return hk_fix_fail(r, "update-initramfs failed (exit %d)", st);
    } else {
        rc = put_file(lf, r, "/etc/dracut.conf.d/90-hyper2kvm-virtio.conf",
                      "# added by hyper2kvm: virtio drivers for KVM\n"
                      "add_drivers+=\" virtio_blk virtio_scsi virtio_net virtio_pci \"\n",
                      "virtio drivers for dracut");
        if (rc < 0)
            return rc;
        for (size_t k = 0; k < lf->n_kernels; k++) {
            char *q = hk_sh_quote(lf->kernels[k]);
            char *cmd = q ? hk_asprintf("dracut -f --kver %s 2>&1", q) : NULL;
            free(q);
            int st = cmd ? record_cmd(lf, r, cmd, true, NULL) : hk_error_nomem(lf->ctx);
            free(cmd);
            if (st < 0)
                return st;
            if (st > 0)
                return hk_fix_fail(r, "dracut failed for %s (exit %d)", lf->kernels[k], st);
        }
    }
    if (r->status == H2K_FIX_STATUS_UNCHANGED)
        r->status = H2K_FIX_STATUS_CHANGED; /* the initramfs images were rebuilt */
    if (!lf->opts.dry_run) {
        bool now = false;
        rc = initramfs_has_virtio(lf, r, &now);
        if (rc == 0 && !now)
            hk_fix_fail(r, "the rebuilt initramfs still lacks virtio drivers");
    }
    return rc;
}

static int
fix_tools(h2k_live_fixer *lf, h2k_fix_result *r)
{
    if (!lf->pkg) {
        r->status = H2K_FIX_STATUS_SKIPPED;
        r->message = strdup("no dpkg or rpm");
        return 0;
    }
    bool deb = strcmp(lf->pkg, "dpkg") == 0;
    char *o = NULL;
    int st = record_cmd(lf, r,
                        deb ? "dpkg-query -W -f='${Package} ${Status}\\n' open-vm-tools "
                              "open-vm-tools-desktop 2>/dev/null | "
                              "awk '$4==\"installed\"{print $1}'"
                            : "rpm -q --qf '%{NAME}\\n' open-vm-tools open-vm-tools-desktop "
                              "2>/dev/null | grep -v 'not installed'",
                        false, &o);
    if (st < 0) {
        free(o);
        return st;
    }
    bool have = o && strstr(o, "open-vm-tools");
    free(o);
    if (!have)
        return 0;
    st = record_cmd(lf, r,
                    deb ? "DEBIAN_FRONTEND=noninteractive apt-get -y remove open-vm-tools "
                          "open-vm-tools-desktop 2>&1"
                        : "{ command -v dnf >/dev/null && dnf -y remove open-vm-tools "
                          "open-vm-tools-desktop || yum -y remove open-vm-tools "
                          "open-vm-tools-desktop; } 2>&1",
                    true, NULL);
    if (st < 0)
        return st;
    if (st > 0)
        return hk_fix_fail(r, "removing open-vm-tools failed (exit %d)", st);
    r->status = H2K_FIX_STATUS_CHANGED;
    r->message = strdup(lf->opts.dry_run ? "open-vm-tools would be removed"
                                         : "open-vm-tools removed");
    return 0;
}

/* ------------------------------------------------------------------ run */

static int
keep_result(h2k_live_fixer *lf, h2k_fix_result *r, double t0)
{
    r->duration_seconds = hk_now() - t0;
    if (!r->message) {
        if (r->status == H2K_FIX_STATUS_CHANGED)
            r->message = hk_asprintf("%zu file%s %s, %zu command%s", r->n_changes,
                                     r->n_changes == 1 ? "" : "s",
                                     r->dry_run ? "would change" : "changed", r->n_commands,
                                     r->n_commands == 1 ? "" : "s");
        else if (r->status == H2K_FIX_STATUS_UNCHANGED)
            r->message = strdup("nothing to change");
    }
    hk_log(lf->ctx, r->status == H2K_FIX_STATUS_FAILED ? H2K_LOG_WARNING : H2K_LOG_INFO, "live",
           "%s: %s: %s", h2k_fix_kind_name(r->kind), h2k_fix_status_name(r->status),
           r->message ? r->message : "");
    h2k_fix_result **nl = realloc(lf->results, (lf->n_results + 1) * sizeof(*nl));
    if (!nl) {
        h2k_fix_result_free(r);
        return hk_error_nomem(lf->ctx);
    }
    lf->results = nl;
    nl[lf->n_results++] = r;
    return 0;
}

int
h2k_live_fixer_run(h2k_live_fixer *lf)
{
    if (!lf)
        return H2K_ERR_INVALID_ARG;
    clear_results(lf);
    int rc = probe(lf);
    if (rc < 0)
        return rc;
    static const struct {
        h2k_fix_kind kind;
        int (*fn)(h2k_live_fixer *, h2k_fix_result *);
    } order[] = {
        {H2K_FIX_FSTAB, fix_fstab},        {H2K_FIX_NETWORK, fix_network},
        {H2K_FIX_VMWARE_TOOLS, fix_tools}, {H2K_FIX_INITRAMFS, fix_initramfs},
        {H2K_FIX_GRUB, fix_grub},          {H2K_FIX_SELINUX, NULL},
    };
    bool failed = false;
    for (size_t i = 0; i < HK_ARRAY_LEN(order); i++) {
        if (!(lf->opts.fixes & order[i].kind))
            continue;
        h2k_fix_result *r = calloc(1, sizeof(*r));
        if (!r)
            return hk_error_nomem(lf->ctx);
        r->kind = order[i].kind;
        r->status = H2K_FIX_STATUS_UNCHANGED;
        r->dry_run = lf->opts.dry_run;
        double t0 = hk_now();
        int frc = 0;
        if (!order[i].fn) {
            r->status = H2K_FIX_STATUS_SKIPPED;
            r->message = strdup("not done on a running system (use the offline fixer)");
        } else {
            frc = order[i].fn(lf, r);
            if (frc < 0 && r->status != H2K_FIX_STATUS_FAILED)
                hk_fix_fail(r, "%s", lasterr(lf));
        }
        if (r->status == H2K_FIX_STATUS_FAILED)
            failed = true;
        if ((rc = keep_result(lf, r, t0)) < 0)
            return rc;
        /* a lost connection or a cancel stops the run */
        if (frc == H2K_ERR_CONNECTION || frc == H2K_ERR_AUTHENTICATION ||
            frc == H2K_ERR_CANCELLED || frc == H2K_ERR_TIMEOUT || frc == H2K_ERR_NO_MEMORY)
            return frc; /* its error is the context's */
    }
    if (failed)
        return hk_error(lf->ctx, H2K_ERR_FIXER, "live fix: %s: a repair failed (see the report)",
                        lf->host);
    return 0;
}

size_t
h2k_live_fixer_result_count(const h2k_live_fixer *lf)
{
    return lf ? lf->n_results : 0;
}

const h2k_fix_result *
h2k_live_fixer_result_at(const h2k_live_fixer *lf, size_t i)
{
    return lf && i < lf->n_results ? lf->results[i] : NULL;
}

char *
h2k_live_fixer_report_json(const h2k_live_fixer *lf)
{
    if (!lf)
        return NULL;
    json_object *o = json_object_new_object();
    hk_json_add_str(o, "host", lf->host);
    json_object_object_add(o, "port", json_object_new_int((int)lf->opts.port));
    hk_json_add_str(o, "user", lf->user);
    json_object_object_add(o, "sudo", json_object_new_boolean(lf->opts.sudo));
    json_object_object_add(o, "dry_run", json_object_new_boolean(lf->opts.dry_run));
    json_object *fixes = json_object_new_array();
    for (size_t i = 0; i < lf->n_results; i++)
        json_object_array_add(fixes, hk_fix_result_json(lf->results[i]));
    json_object_object_add(o, "fixes", fixes);
    return hk_json_steal_string(o);
}

char *
h2k_live_fixer_report_markdown(const h2k_live_fixer *lf)
{
    if (!lf)
        return NULL;
    hk_buf b = {0};
    hk_buf_printf(&b, "# Live repair of %s@%s (port %u)%s\n\n", lf->user, lf->host, lf->opts.port,
                  lf->opts.dry_run ? " (dry run)" : "");
    for (size_t i = 0; i < lf->n_results; i++) {
        const h2k_fix_result *r = lf->results[i];
        hk_buf_printf(&b, "## %s: %s\n\n%s (%.1f s)\n\n", h2k_fix_kind_name(r->kind),
                      h2k_fix_status_name(r->status), r->message ? r->message : "",
                      r->duration_seconds);
        for (size_t c = 0; c < r->n_changes; c++) {
            hk_buf_printf(&b, "- %s `%s`\n", r->changes[c].action, r->changes[c].path);
            for (size_t k = 0; k < r->changes[c].n_notes; k++)
                hk_buf_printf(&b, "  - %s\n", r->changes[c].notes[k]);
        }
        for (size_t c = 0; c < r->n_commands; c++)
            hk_buf_printf(&b, "- command `%s`: exit %d\n", r->commands[c].command,
                          r->commands[c].exit_status);
        hk_buf_puts(&b, "\n");
    }
    return hk_buf_steal(&b);
}

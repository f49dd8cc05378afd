/*
 * The offline fixer's private state and the helpers every repair uses to
 * read and write guest files and run guest commands while recording what it
 * did for the report.
 */
#ifndef HK_FIX_FIXER_INTERNAL_H
#define HK_FIX_FIXER_INTERNAL_H

#include <stdbool.h>

#include "core/internal.h"
#include "guest/gfs.h"
#include "guest/win_registry.h"
#include "hyper2kvm/h2k_fix.h"
#include "xform.h"

struct h2k_offline_fixer {
    h2k_ctx *ctx;
    hk_gfs *gfs;
    h2k_guest_identity *id;
    h2k_fix_options opts; /* nics deep-copied below */
    h2k_fix_nic *nics;
    size_t n_nics;
    hk_devmap map; /* the guest's block devices (gfs's table: valid while gfs is) */
    h2k_fix_result **results;
    size_t n_results;
    /* atomic: the overlays the appliance writes, over the absolute disk paths */
    char *work_dir;
    char **overlays;
    char **targets;
    size_t n_overlays;
    /* Windows */
    char *virtio_win; /* opts.virtio_win, owned */
    int virtio_ready; /* the virtio boot driver is in place */
    bool windows_rw;  /* the Windows volumes were remounted read-write */
    /* run_all: the initramfs work was prepared beside the package removal */
    bool in_run_all;
    bool initrd_prepared;
};

/* Starts a result for @kind (status UNCHANGED); NULL on allocation failure. */
h2k_fix_result *hk_fix_begin(h2k_offline_fixer *fx, h2k_fix_kind kind);
/* Finishes @res: duration, message (printf-style, may be NULL); keeps a copy in
 * the fixer's list for the report and hands @res to *out. */
int hk_fix_end(h2k_offline_fixer *fx, h2k_fix_result *res, h2k_fix_result **out, const char *fmt,
               ...) HK_PRINTF(4, 5);
/* Marks @res failed with a message (printf-style).  Returns 0. */
int hk_fix_fail(h2k_fix_result *res, const char *fmt, ...) HK_PRINTF(2, 3);

/* Reads a guest file (following links) up to 16 MiB; NULL when absent. */
char *hk_fix_read(h2k_offline_fixer *fx, const char *path, size_t *len);
/* Applies a transform result to a guest file: when xo->text is set, writes it
 * (unless dry run), records the change with its notes and sets status CHANGED.
 * Returns 0, or -1 after marking @res failed. */
int hk_fix_apply(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, const char *before,
                 hk_xform_out *xo);
/* Writes a new or replaced file (mode 0644), recording it. */
int hk_fix_write_new(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path,
                     const char *content, const char *note);
/* Writes a new or replaced binary file (mode 0644, parents created), recording
 * it with @note and its size and SHA-256 (not its bytes); nothing when the
 * file already holds exactly @data.  Returns 0, or -1 after marking @res failed. */
int hk_fix_write_bytes(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path,
                       const void *data, size_t len, const char *note);
/* Deletes a guest file, recording its contents. */
int hk_fix_delete(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, const char *note);
/* Runs a shell command inside the guest (chroot), records it; returns its exit
 * status (or -1 when it could not run); *output (optional) gets the whole
 * output (caller frees).  In a dry run the command is recorded, not run, and
 * 0 is returned. */
int hk_fix_sh(h2k_offline_fixer *fx, h2k_fix_result *res, const char *cmd, char **output);
/* hk_fix_sh() with @beside (may be NULL) run at the same time in the same
 * appliance call, in the background, its output discarded; the call returns
 * when both have ended.  Only @cmd is recorded and judged. */
int hk_fix_sh_beside(h2k_offline_fixer *fx, h2k_fix_result *res, const char *cmd,
                     const char *beside, char **output);
/* Adds a warning line to the result's message (status unchanged). */
void hk_fix_note_warning(h2k_fix_result *res, const char *fmt, ...) HK_PRINTF(2, 3);
/* Records a file rename (from -> to). */
void hk_fix_record_rename(h2k_fix_result *res, const char *from, const char *to);
/* Writes a binary guest file (mode 0644) unless it already holds @data;
 * records it with @note (contents not copied into the report). */
int hk_fix_write_binary(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path,
                        const void *data, size_t len, const char *note);
/* Moves a hive's recorded changes into @res (status CHANGED when any). */
void hk_fix_take_registry(h2k_fix_result *res, h2k_registry_change *c, size_t n);
/* Windows guests are mounted read-only at open so that a refusal changes
 * nothing; this remounts them read-write (no-op in a dry run or when done). */
int hk_fix_windows_writable(h2k_offline_fixer *fx);
/* True when a guest file or directory exists. */
bool hk_fix_exists(h2k_offline_fixer *fx, const char *path);

/* One result as JSON (report.c); the caller owns the object. */
struct json_object;
struct json_object *hk_fix_result_json(const h2k_fix_result *r);

/* The repairs (each in its own file). */
int hk_fix_fstab(h2k_offline_fixer *fx, h2k_fix_result *res);
int hk_fix_grub(h2k_offline_fixer *fx, h2k_fix_result *res);
int hk_fix_network(h2k_offline_fixer *fx, h2k_fix_result *res);
int hk_fix_initramfs(h2k_offline_fixer *fx, h2k_fix_result *res);
/* The shell commands that prepare the initramfs repair's in-place work for
 * every kernel it will change (mode "prep", initrd_script.h), to run beside
 * the VMware tools' package removal in the same appliance call; NULL when
 * there is nothing to prepare (dry run, a rebuild forced, no fast path).
 * Sets fx->initrd_prepared, so the repair then commits what was prepared.
 * Caller frees. */
char *hk_fix_initramfs_prep_cmd(h2k_offline_fixer *fx);
/* Removes what a preparation left in /boot when the initramfs repair did not
 * commit it; clears fx->initrd_prepared. */
void hk_fix_initramfs_unprep(h2k_offline_fixer *fx);
int hk_fix_vmware_tools(h2k_offline_fixer *fx, h2k_fix_result *res);
/* The "vmware_tools" repair: VMware tools, then the Azure agent and cloud-init's
 * Azure datasource (fix_azure.c). */
int hk_fix_guest_agents(h2k_offline_fixer *fx, h2k_fix_result *res);
int hk_fix_selinux(h2k_offline_fixer *fx, h2k_fix_result *res);
int hk_fix_virtio_win(h2k_offline_fixer *fx, h2k_fix_result *res);

#endif

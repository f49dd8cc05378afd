/* h2k_guest_detector: detection from a directory or from disk images. */
#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "detect_files.h"
#include "gfs.h"

struct h2k_guest_detector {
    h2k_ctx *ctx;
};

int
h2k_guest_detector_new(h2k_ctx *ctx, h2k_guest_detector **out)
{
    if (!ctx || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_guest_detector_new: NULL argument");
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return hk_error_nomem(ctx);
    (*out)->ctx = ctx;
    return 0;
}

void
h2k_guest_detector_free(h2k_guest_detector *det)
{
    free(det);
}

int
h2k_guest_detect_dir(const h2k_guest_detector *det, const char *root_dir, h2k_guest_identity **out)
{
    if (!det || !root_dir || !out)
        return hk_error(det ? det->ctx : NULL, H2K_ERR_INVALID_ARG,
                        "h2k_guest_detect_dir: NULL argument");
    *out = NULL;
    if (access(root_dir, R_OK | X_OK) != 0)
        return hk_error_errno(det->ctx, errno, root_dir, "cannot read guest root");
    hk_fsread *fs = hk_fsread_dir_new(root_dir);
    h2k_guest_identity *id = calloc(1, sizeof(*id));
    if (!fs || !id) {
        hk_fsread_dir_free(fs);
        free(id);
        return hk_error_nomem(det->ctx);
    }
    int rc = hk_guest_detect_files(det->ctx, fs, id, true);
    hk_fsread_dir_free(fs);
    if (rc < 0) {
        hk_error_prefix(det->ctx, "%s", root_dir);
        h2k_guest_identity_free(id);
        return rc;
    }
    *out = id;
    return 0;
}

int
h2k_guest_detect_image(const h2k_guest_detector *det, const char *const *disks,
                       const char *const *formats, size_t n_disks, h2k_guest_identity **out)
{
    if (!det || !disks || !out || !n_disks)
        return hk_error(det ? det->ctx : NULL, H2K_ERR_INVALID_ARG,
                        "h2k_guest_detect_image: no disks");
    *out = NULL;
    hk_gfs *gfs = NULL;
    int rc = hk_gfs_open(det->ctx, disks, formats, n_disks, true, &gfs);
    if (rc == 0)
        rc = hk_gfs_inspect_mount(gfs);
    if (rc == 0)
        rc = hk_gfs_identity(gfs, out);
    hk_gfs_close(gfs);
    if (rc < 0 && h2k_ctx_is_cancelled(det->ctx) && rc != H2K_ERR_CANCELLED)
        rc = hk_error(det->ctx, H2K_ERR_CANCELLED, "cancelled during guest detection");
    else if (rc == 0 && h2k_ctx_is_cancelled(det->ctx)) {
        /* identified from a killed appliance: not trusted */
        h2k_guest_identity_free(*out);
        *out = NULL;
        rc = hk_error(det->ctx, H2K_ERR_CANCELLED, "cancelled during guest detection");
    }
    return rc;
}

/*
 * The interface between the probe dispatcher (probe.c) and the format
 * probers (probe_vmdk.c, probe_vhd.c, probe_vhdx.c, probe_qcow2.c).
 */
#ifndef HK_DISK_PROBE_INTERNAL_H
#define HK_DISK_PROBE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"

/* An image being probed: a window [base, base + size) of an open file. */
typedef struct hk_src {
    int fd;
    const char *path; /* absolute path, for messages */
    uint64_t base;    /* image start inside the file (OVA member), else 0 */
    uint64_t size;    /* image length in bytes */
    /* out (may be NULL): the format the image records for its parent (the qcow2
     * backing format), which qemu uses for it; left alone when none */
    h2k_disk_format *parent_format;
    /* when set, the image's bytes [base, base + size) are read from this buffer
     * instead of fd (the fuzz targets: the probers run without a file) */
    const uint8_t *mem;
} hk_src;

/* Reads @len bytes at image offset @off; anything outside [0, size) is an
 * H2K_ERR_FORMAT error naming the file, offset and @field. */
int hk_src_read(h2k_ctx *ctx, const hk_src *src, uint64_t off, void *buf, size_t len,
                const char *field);

/* Size of the file holding the image (its fstat size when a regular file,
 * else the end of the image window): the extent size the probers report. */
uint64_t hk_src_file_size(const hk_src *src);

/* Format detection from the first bytes (@head, up to 64 KiB) and the last 512
 * bytes (@tail, may be shorter) of the image. */
h2k_disk_format hk_detect_format(const uint8_t *head, size_t head_len, const uint8_t *tail,
                                 size_t tail_len);

/*
 * Format probers.  On entry layer->path (absolute) and layer->format are set,
 * everything else zero.  A prober fills subformat, virtual_size, cluster_size,
 * id, parent_id, parent_hint, compressed and extents; it may set parent_path
 * (else the dispatcher resolves parent_hint against the layer's folder) and
 * allocated_size (else the dispatcher uses the blocks allocated to the file).
 * Every header field is validated against the file size and sane limits; an
 * error names the file, offset and field.  The dispatcher validates the chain
 * (parent_id against the parent's id).
 */
int hk_probe_vmdk(h2k_ctx *ctx, const hk_src *src, const h2k_probe_options *opts,
                  h2k_disk_layer *layer);
int hk_probe_vhd(h2k_ctx *ctx, const hk_src *src, const h2k_probe_options *opts,
                 h2k_disk_layer *layer);
int hk_probe_vhdx(h2k_ctx *ctx, const hk_src *src, const h2k_probe_options *opts,
                  h2k_disk_layer *layer);
int hk_probe_qcow2(h2k_ctx *ctx, const hk_src *src, const h2k_probe_options *opts,
                   h2k_disk_layer *layer);

/* Appends an extent (strings copied, NULL allowed).  Returns 0 or NO_MEMORY. */
int hk_layer_add_extent(h2k_ctx *ctx, h2k_disk_layer *layer, const char *path, const char *type,
                        const char *access, uint64_t sectors, uint64_t offset, uint64_t file_size);

/* Records the parent of the differencing VHD/VHDX @layer: its hint (copied)
 * and the file hk_vhd_resolve_parent() picks from @hints beside the layer.
 * Returns 0 or NO_MEMORY. */
int hk_layer_set_parent(h2k_ctx *ctx, h2k_disk_layer *layer, const char *hint,
                        const char *const *hints, size_t n_hints);

/* Frees the contents of a layer (not the layer itself). */
void hk_disk_layer_clear(h2k_disk_layer *layer);

/* Formats a 16-byte GUID as stored by Microsoft (first three fields little
 * endian) into @out (37 bytes). */
void hk_guid_to_string(const uint8_t guid[16], char out[37]);

/* Upper bound accepted for any virtual size (64 TiB): larger values are lies. */
#define HK_MAX_VIRTUAL_SIZE (UINT64_C(64) << 40)

#endif

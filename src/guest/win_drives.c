/* Windows drive letters from MountedDevices, resolved to the guest's partitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsread.h"
#include "win_drives.h"

static uint32_t
le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

int
hk_win_mount_parse(const char *name, const void *data, size_t len, hk_win_mount *out)
{
    static const char prefix[] = "\\DosDevices\\";
    const size_t pl = sizeof(prefix) - 1;
    if (!name || !data || strncasecmp(name, prefix, pl) != 0 || strlen(name) != pl + 2 ||
        name[pl + 1] != ':')
        return 0;
    char l = name[pl];
    if (l >= 'a' && l <= 'z')
        l = (char)(l - 'a' + 'A');
    if (l < 'A' || l > 'Z')
        return 0;
    const unsigned char *d = data;
    memset(out, 0, sizeof(*out));
    out->letter = l;
    if (len == 12) {
        out->kind = HK_WIN_MOUNT_MBR;
        out->mbr_sig = le32(d);
        out->offset = le64(d + 4);
        return 1;
    }
    if (len == 24 && memcmp(d, "DMIO:ID:", 8) == 0) {
        const unsigned char *g = d + 8;
        out->kind = HK_WIN_MOUNT_GPT;
        snprintf(out->guid, sizeof(out->guid), "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
                 le32(g), (unsigned)(g[4] | g[5] << 8), (unsigned)(g[6] | g[7] << 8), g[8], g[9],
                 g[10], g[11], g[12], g[13], g[14], g[15]);
        return 1;
    }
    return 0;
}

const char *
hk_win_mount_resolve(const hk_win_mount *m, const hk_win_part *parts, size_t n)
{
    for (size_t i = 0; m && i < n; i++) {
        const hk_win_part *p = &parts[i];
        if (m->kind == HK_WIN_MOUNT_MBR && !p->gpt && p->mbr_sig == m->mbr_sig &&
            p->start == m->offset)
            return p->device;
        if (m->kind == HK_WIN_MOUNT_GPT && p->gpt && p->guid && hk_streq_nocase(p->guid, m->guid))
            return p->device;
    }
    return NULL;
}

void
hk_win_parts_free(hk_win_part *parts, size_t n)
{
    for (size_t i = 0; parts && i < n; i++) {
        free(parts[i].device);
        free(parts[i].guid);
    }
    free(parts);
}

int
hk_win_drive_parts(h2k_ctx *ctx, guestfs_h *g, hk_win_part **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char **parts = guestfs_list_partitions(g);
    if (!parts)
        return hk_error(ctx, H2K_ERR_GUEST_DETECTION, "listing the guest's partitions: %s",
                        guestfs_last_error(g) ? guestfs_last_error(g) : "failed");
    size_t np = hk_strv_len(parts);
    hk_win_part *v = calloc(np + 1, sizeof(*v));
    if (!v) {
        hk_strv_free(parts);
        return hk_error_nomem(ctx);
    }
    size_t k = 0;
    for (size_t i = 0; i < np; i++) {
        char *dev = guestfs_part_to_dev(g, parts[i]);
        int num = guestfs_part_to_partnum(g, parts[i]);
        char *type = dev ? guestfs_part_get_parttype(g, dev) : NULL;
        struct guestfs_partition_list *pl = type ? guestfs_part_list(g, dev) : NULL;
        bool gpt = type && strcmp(type, "gpt") == 0;
        bool mbr = type && strcmp(type, "msdos") == 0;
        for (size_t j = 0; pl && (gpt || mbr) && j < pl->len; j++) {
            if (pl->val[j].part_num != num)
                continue;
            hk_win_part *p = &v[k];
            p->device = strdup(parts[i]);
            p->gpt = gpt;
            p->start = pl->val[j].part_start;
            if (mbr) {
                size_t sz = 0;
                char *sig = guestfs_pread_device(g, dev, 4, 440, &sz);
                if (sig && sz == 4)
                    p->mbr_sig = le32((const unsigned char *)sig);
                free(sig);
            } else {
                p->guid = guestfs_part_get_gpt_guid(g, dev, num);
            }
            if (p->device)
                k++;
        }
        if (pl)
            guestfs_free_partition_list(pl);
        free(type);
        free(dev);
    }
    hk_strv_free(parts);
    *out = v;
    *n = k;
    return 0;
}

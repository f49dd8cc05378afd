/* Fuzz target: a Windows registry hive from a guest, through the registry layer
 * (libhivex underneath) and what inspection and the virtio repair read of it,
 * MountedDevices' drive-letter values included. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#include "guest/fsread.h"
#include "guest/win_drives.h"
#include "guest/win_registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every value of every key down to a bounded depth. */
static void
walk(hk_hive *h, const char *key, int depth, int *budget)
{
    if (depth > 6 || --*budget < 0)
        return;
    char *s = hk_hive_get_str(h, key, "");
    free(s);
    s = hk_hive_get_str(h, key, "DisplayName");
    free(s);
    char **m = hk_hive_get_multi(h, key, "IPAddress");
    hk_strv_free(m);
    uint32_t d;
    (void)hk_hive_get_dword(h, key, "Current", &d);
    int type = 0;
    size_t len = 0;
    char *raw = hk_hive_get_raw(h, key, "Version", &type, &len);
    free(raw);
    /* every value's data, through the MountedDevices parser (drive letters) */
    char **vn = hk_hive_value_names(h, key);
    for (size_t i = 0; vn && vn[i] && i < 32; i++) {
        raw = hk_hive_get_raw(h, key, vn[i], &type, &len);
        hk_win_mount wm;
        if (raw)
            (void)hk_win_mount_parse(vn[i], raw, len, &wm);
        free(raw);
    }
    hk_strv_free(vn);
    char **sub = hk_hive_subkeys(h, key);
    for (size_t i = 0; sub && sub[i] && i < 16; i++) {
        char *child = *key ? hk_asprintf("%s\\%s", key, sub[i]) : strdup(sub[i]);
        if (child)
            walk(h, child, depth + 1, budget);
        free(child);
    }
    hk_strv_free(sub);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfd(data, size, path);
    if (fd < 0)
        return 0;
    h2k_ctx *ctx = NULL;
    if (h2k_ctx_new(&ctx) == 0) {
        hk_hive *h = NULL;
        /* writable in dry-run mode: the edits run on libhivex's memory copy only */
        if (hk_hive_open_file(ctx, path, "SYSTEM", true, true, &h) == 0) {
            int budget = 2000;
            walk(h, "", 0, &budget);
            (void)hk_hive_set_dword(h, "ControlSet001\\Services\\viostor", "Start", 0);
            const char *v[] = {"a", "b", NULL};
            (void)hk_hive_set_multi(h, "Select", "Multi", v);
            (void)hk_hive_delete_value(h, "Select", "Current");
            /* not hk_hive_delete_key(): libhivex 1.3.23 asserts (aborts) in
             * hivex_node_delete_child() on some corrupt hives; the repairs never
             * delete keys of a guest's hive */
            (void)hk_hive_commit(h);
            size_t n = 0;
            (void)hk_hive_changes(h, &n);
            hk_hive_close(h);
        }
        h2k_ctx_free(ctx);
    }
    close(fd);
    return 0;
}

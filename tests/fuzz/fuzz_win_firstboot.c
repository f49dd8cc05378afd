/* Fuzz target: the Windows first-boot validators and step generators
 * (src/fix/win_fb_scripts.c) and the runner's step names
 * (windows/firstboot/fb_runner.c).  The input's lines are a product code, a
 * MAC, addresses, a gateway, DNS servers, a mask, a folder and a step name.
 * Besides crashes and leaks, it aborts when a value that was accepted holds a
 * character its format does not allow (a quote, '&', '%', a newline...): such
 * a value would reach a script. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

#include "fb_runner.h"
#include "fix/win_firstboot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
only(const char *s, const char *allowed)
{
    for (; *s; s++)
        if (!strchr(allowed, *s))
            abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *lines[8] = {"", "", "", "", "", "", "", ""};
    char *save = NULL;
    size_t n = 0;
    for (char *l = strtok_r(buf, "\n", &save); l && n < 8; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    h2k_ctx *ctx = fuzz_ctx();
    if (!ctx) {
        free(buf);
        return 0;
    }
    char out[46];
    bool v6;
    unsigned char mac[6];
    unsigned prefix;
    if (hk_win_parse_guid(ctx, "f", lines[0], out) == 0)
        only(lines[0], "0123456789abcdefABCDEF-{}");
    if (hk_win_parse_mac(ctx, "f", lines[1], mac) == 0)
        only(lines[1], "0123456789abcdefABCDEF:-");
    if (hk_win_parse_ip(ctx, "f", lines[2], out, &v6) == 0)
        only(lines[2], "0123456789abcdefABCDEF:.");
    if (hk_win_mask_to_prefix(ctx, "f", lines[5], &prefix) == 0 && prefix > 32)
        abort();
    if (hk_win_path_ok(lines[6]))
        only(lines[6], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.()+-:\\");
    if (hk_fb_step_kind(lines[7]) != HK_FB_NOT_A_STEP)
        only(lines[7], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

    /* the whole set, both script generations */
    hk_win_ip addr[2] = {{lines[2], 24}, {lines[3], 64}};
    const char *gw[1] = {lines[3]};
    const char *dns[2] = {lines[4], lines[2]};
    hk_win_nic nic = {lines[1], false, addr, 2, gw, 1, dns, 2};
    hk_win_fb_step extra = {lines[7], lines[0]};
    for (int os = 0; os < 2; os++) {
        hk_win_firstboot fb = {0};
        fb.os = os ? (hk_win_version){6, 1, 7601, false, HK_WIN_ARCH_X86}
                   : (hk_win_version){10, 0, 20348, true, HK_WIN_ARCH_X64};
        fb.driver_dir = lines[6];
        fb.vmware_tools_code = lines[0];
        fb.nics = &nic;
        fb.n_nics = 1;
        fb.disks_online = true;
        fb.n_disks = (unsigned)(size % 70);
        fb.extra = &extra;
        fb.n_extra = 1;
        hk_win_fb_step *steps = NULL;
        size_t k = 0;
        if (hk_win_firstboot_steps(ctx, &fb, &steps, &k) == 0) {
            for (size_t i = 0; i < k; i++) {
                if (i + 1 < k) /* ours (the extra one is the caller's text) */
                    for (const char *p = steps[i].text; *p; p++)
                        if ((unsigned char)*p >= 0x80 || (*p == '\n' && p[-1] != '\r'))
                            abort();
                hk_win_fb_step_clear(&steps[i]);
            }
            free(steps);
        }
    }
    h2k_ctx_free(ctx);
    free(buf);
    return 0;
}

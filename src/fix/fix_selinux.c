/* SELinux: files written offline carry no labels, so a relabel is scheduled. */
#include <stdlib.h>
#include <string.h>

#include "fixer_internal.h"

int
hk_fix_selinux(h2k_offline_fixer *fx, h2k_fix_result *res)
{
    const char *mode = fx->id->selinux;
    if (!mode || (strcmp(mode, "enforcing") != 0 && strcmp(mode, "permissive") != 0)) {
        res->status = H2K_FIX_STATUS_SKIPPED;
        res->message = hk_asprintf("SELinux is %s", mode ? mode : "not configured");
        return 0;
    }
    hk_fix_write_new(fx, res, "/.autorelabel", "", "relabel the file systems on the next boot");
    return 0;
}

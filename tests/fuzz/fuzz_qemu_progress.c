/* Fuzz target: the qemu-img "-p" progress parser and option escaping. */
#include "fuzz_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "disk/convert_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    unsigned pm = 0;
    if (hk_qemu_parse_progress(s, &pm) && pm > 1000)
        abort();
    char *e = hk_qemu_opt_escape(s);
    if (e) {
        /* every comma doubled, nothing else changed */
        size_t commas = 0, n = strlen(s);
        for (size_t i = 0; i < n; i++)
            commas += s[i] == ',';
        if (strlen(e) != n + commas)
            abort();
    }
    free(e);
    free(s);
    return 0;
}

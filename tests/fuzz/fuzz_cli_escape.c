/*
 * Fuzz target of the CLI's terminal filter (cli_escape): whatever a VM name,
 * path, guest string or error message holds, the text printed holds no C0
 * control (except newline and tab when kept), no DEL, no C1 (raw or as UTF-8)
 * and no byte sequence that is not UTF-8.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const char *out, bool keep)
{
    const unsigned char *p = (const unsigned char *)out;
    while (*p) {
        unsigned c = *p;
        if (c < 0x80) {
            if ((c < 0x20 && !(keep && (c == '\n' || c == '\t'))) || c == 0x7f)
                abort();
            p++;
            continue;
        }
        size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (n == 0)
            abort();
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                abort();
        if (c == 0xc2 && p[1] < 0xa0) /* U+0080..U+009F */
            abort();
        p += n;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    for (int keep = 0; keep < 2; keep++) {
        char *out = cli_escape(s, keep);
        if (!out)
            abort();
        check(out, keep);
        free(out);
    }
    free(s);
    return 0;
}

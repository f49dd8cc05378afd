/*
 * String vectors: counted arrays grown one copy at a time, and
 * NULL-terminated ones.
 */
#include <stdlib.h>
#include <string.h>

#include "util.h"

bool
hk_strv_add(char ***v, size_t *n, const char *s)
{
    char *c = strdup(s ? s : "");
    char **nv = c ? realloc(*v, (*n + 1) * sizeof(char *)) : NULL;
    if (!nv) {
        free(c);
        return false;
    }
    nv[(*n)++] = c;
    *v = nv;
    return true;
}

void
hk_strv_clear(char ***v, size_t *n)
{
    for (size_t i = 0; *v && i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

void
hk_strv_free(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

size_t
hk_strv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

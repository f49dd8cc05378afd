/*
 * Counted arrays grown one element at a time, and string vectors: counted
 * arrays grown one copy at a time, and NULL-terminated ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void *
hk_array_grow(void **arr, size_t *n, size_t size)
{
    if (*n >= SIZE_MAX / size - 1)
        return NULL;
    char *a = realloc(*arr, (*n + 1) * size);
    if (!a)
        return NULL;
    *arr = a;
    memset(a + *n * size, 0, size);
    return a + (*n)++ * size;
}

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

char **
hk_strv_dup(char *const *v)
{
    size_t n = hk_strv_len(v);
    char **c = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; c && i < n; i++)
        if (!(c[i] = strdup(v[i]))) {
            hk_strv_free(c);
            return NULL;
        }
    return c;
}

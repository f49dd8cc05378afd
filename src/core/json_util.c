/* json-c helpers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_util.h"

void
hk_json_add_str(json_object *o, const char *key, const char *value)
{
    json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

void
hk_json_add_u64(json_object *o, const char *key, uint64_t value)
{
    int64_t v = value > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)value;
    json_object_object_add(o, key, json_object_new_int64(v));
}

char *
hk_json_steal_string(json_object *o)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                          JSON_C_TO_STRING_SPACED |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = s ? strdup(s) : NULL;
    json_object_put(o);
    return copy;
}

void
hk_json_add_strv(json_object *o, const char *key, char *const *v, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    json_object_object_add(o, key, a);
}

/* json-c helpers shared by the JSON writers of the library. */
#ifndef HK_CORE_JSON_UTIL_H
#define HK_CORE_JSON_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Adds @key: @value, or null when @value is NULL. */
void hk_json_add_str(json_object *o, const char *key, const char *value);
/* Adds @key: the array of the @n strings of @v (none NULL). */
void hk_json_add_strv(json_object *o, const char *key, char *const *v, size_t n);
/* Adds @key: @value as a 64-bit integer (values over INT64_MAX are clamped). */
void hk_json_add_u64(json_object *o, const char *key, uint64_t value);
/* Serialises @o (pretty, slashes unescaped), releases it, returns a malloc'd
 * string (caller frees) or NULL. */
char *hk_json_steal_string(json_object *o);

#endif

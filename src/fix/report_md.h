/*
 * Markdown pieces shared by the repair report (src/fix/report.c) and the
 * migration report (src/orchestrator/result.c).  Internal, never installed.
 * Thread-safe (they only append to the caller's buffer).
 */
#ifndef HK_FIX_REPORT_MD_H
#define HK_FIX_REPORT_MD_H

#include "core/internal.h"

/* Appends the table row of one registry change: hive, key (as code), value
 * ("(default)" for the unnamed value; @action when the change is to a key),
 * type ("key" when NULL), before and after ("-" when NULL; "(deleted)" for a
 * value removed).  A NULL @hive, @key or @action is written "?". */
void hk_md_registry_row(hk_buf *b, const char *hive, const char *key, const char *value,
                        const char *action, const char *type, const char *before,
                        const char *after);

#endif /* HK_FIX_REPORT_MD_H */

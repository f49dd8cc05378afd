/* Unit tests of hk_str_safe (src/core/strings.c): untrusted strings rendered
 * for a line of text. */
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

static void
test_str_safe(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain name", "plain name"},
        {"", ""},
        {"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
         "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"},
        {"a\nb\tc\rd", "a\\x0ab\\x09c\\x0dd"},
        {"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"},
        {"\x1b]0;title\x07", "\\x1b]0;title\\x07"},
        {"del\x7f", "del\\x7f"},
        {"c1 \xc2\x9b"
         "2J",
         "c1 \\xc2\\x9b2J"}, /* U+009B in UTF-8 */
        {"raw \x9b"
         "2J",
         "raw \\x9b2J"},           /* a raw 8-bit CSI */
        {"bad \xc3", "bad \\xc3"}, /* truncated sequence */
        {"overlong \xc0\xaf", "overlong \\xc0\\xaf"},
        {"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
        {"bidi \xe2\x80\xae"
         "txt",
         "bidi \\xe2\\x80\\xaetxt"},
        {"nbsp \xc2\xa0 ok", "nbsp \xc2\xa0 ok"},
        {"back\\slash", "back\\slash"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = hk_str_safe(cases[i].in);
        assert_non_null(s);
        assert_string_equal(s, cases[i].out);
        assert_int_equal(hk_str_needs_escape(cases[i].in), strcmp(cases[i].in, cases[i].out) != 0);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
            assert_true(*p >= 0x20 && *p != 0x7f);
        free(s);
    }
    char *s = hk_str_safe(NULL);
    assert_string_equal(s, "(null)");
    free(s);
    assert_false(hk_str_needs_escape(NULL));
    s = hk_str_safe_n("a\0b", 3);
    assert_string_equal(s, "a\\x00b");
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

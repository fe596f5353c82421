/* Ids: ULIDs that sort by time and do not repeat. */
#include <string.h>

#include "server/util/id.h"
#include "tests/fw_test.h"

static void test_ids_are_26_crockford_characters_and_valid(void)
{
    char id[32];
    fw_id_new(id);
    FW_CHECK_INT(strlen(id), 26);
    FW_CHECK(fw_id_valid(id));
    FW_CHECK(!fw_id_valid("01JTGM9GCR71JV7EJYDF45QAF"));   /* 25 */
    FW_CHECK(!fw_id_valid("01JTGM9GCR71JV7EJYDF45QAFDX")); /* 27 */
    FW_CHECK(!fw_id_valid("01JTGM9GCR71JV7EJYDF45QAFI"));  /* I is not Crockford */
    FW_CHECK(fw_id_valid("01JTGM9GCR71JV7EJYDF45QAFD"));
}

static void test_later_ids_sort_later_and_none_repeat(void)
{
    char a[32], b[32], c[32];
    fw_id_new_at(a, 1700000000000ULL);
    fw_id_new_at(b, 1700000000001ULL);
    fw_id_new_at(c, 1700000000001ULL);
    FW_CHECK(strcmp(a, b) < 0);
    FW_CHECK(strcmp(b, c) != 0);
    FW_CHECK(memcmp(b, c, 10) == 0); /* the same millisecond, the same time part */
    /* The time part of a known ULID: 2023-11-14T22:13:20Z. */
    FW_CHECK(memcmp(a, "01HF7YAT00", 10) == 0);
}

int main(void)
{
    FW_RUN(test_ids_are_26_crockford_characters_and_valid);
    FW_RUN(test_later_ids_sort_later_and_none_repeat);
    return fw_test_end();
}

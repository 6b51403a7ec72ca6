/* The smaps parser behind --stats' memory line, on synthetic smaps text, and one real read of /proc/self/smaps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/mman.h>

#include "util/process_memory.h"

/* Three mappings: kestrel's text, guest RAM (two VMAs, as after a split), a kvm_run area, the heap. */
static const char smaps_text[] =
    "55d0c0a00000-55d0c0a6a000 r-xp 00002000 fd:01 1234                       /usr/bin/kestrel\n"
    "Size:                424 kB\n"
    "KernelPageSize:        4 kB\n"
    "Rss:                 300 kB\n"
    "Pss:                 300 kB\n"
    "VmFlags: rd ex mr mw me sd \n"
    "7f0000000000-7f0010000000 rw-p 00000000 00:00 0 \n"
    "Size:             262144 kB\n"
    "Rss:               17000 kB\n"
    "VmFlags: rd wr mr mw me ac dd \n"
    "7f0010000000-7f0020000000 rw-p 00000000 00:00 0 \n"
    "Size:             262144 kB\n"
    "Rss:                 732 kB\n"
    "VmFlags: rd wr mr mw me ac dd \n"
    "7f0020000000-7f0020003000 rw-s 00000000 00:0e 33                         anon_inode:kvm-vcpu:0\n"
    "Size:                 12 kB\n"
    "Rss:                  12 kB\n"
    "55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]\n"
    "Size:                132 kB\n"
    "Rss:                  40 kB\n"
    "Swap:                  0 kB\n";

static const struct process_memory_range guest_ram = {.start = 0x7f0000000000ull, .size = 0x20000000ull};

static int parse(const char *text, const struct process_memory_range *guest, unsigned count,
                 struct process_memory_usage *usage)
{
    return process_memory_parse_smaps(text, strlen(text), guest, count, usage);
}

static void test_guest_and_vmm_rss_are_separated(void **state)
{
    (void)state;
    struct process_memory_usage usage;
    assert_int_equal(parse(smaps_text, &guest_ram, 1, &usage), 0);
    assert_int_equal(usage.mappings, 5);
    assert_int_equal(usage.total_rss_kib, 300 + 17000 + 732 + 12 + 40);
    assert_int_equal(usage.guest_rss_kib, 17000 + 732);
}

/* hugetlbfs guest RAM (hugepages=on): smaps puts its pages in Private_Hugetlb / Shared_Hugetlb, not Rss. */
static void test_hugetlb_pages_count_as_resident(void **state)
{
    (void)state;
    static const char text[] = "7f0000000000-7f0020000000 rw-p 00000000 00:10 99                 /anon_hugepage (deleted)\n"
                               "Size:             524288 kB\n"
                               "Rss:                   0 kB\n"
                               "Shared_Hugetlb:        0 kB\n"
                               "Private_Hugetlb:   38912 kB\n"
                               "55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]\n"
                               "Rss:                  40 kB\n"
                               "Private_Hugetlb:       0 kB\n";
    struct process_memory_usage usage;
    assert_int_equal(parse(text, &guest_ram, 1, &usage), 0);
    assert_int_equal(usage.guest_rss_kib, 38912);
    assert_int_equal(usage.total_rss_kib, 38912 + 40);
    assert_int_equal(parse("Private_Hugetlb: 4 kB\n", &guest_ram, 1, &usage), -1); /* before any mapping */
    assert_int_equal(parse("7f00-7f10 rw-p 0 00:00 0\nShared_Hugetlb: 4 MB\n", &guest_ram, 1, &usage), -1);
}

/* AnonHugePages is part of Rss: it is summed for guest RAM only, and adds nothing to the totals. */
static void test_guest_transparent_huge_pages_are_counted(void **state)
{
    (void)state;
    static const char text[] = "7f0000000000-7f0010000000 rw-p 00000000 00:00 0 \n"
                               "Rss:               16384 kB\n"
                               "AnonHugePages:     14336 kB\n"
                               "7f0010000000-7f0010400000 rw-p 00000000 00:00 0 \n"
                               "Rss:                2048 kB\n"
                               "AnonHugePages:      2048 kB\n"
                               "55d0c1000000-55d0c1400000 rw-p 00000000 00:00 0                          [heap]\n"
                               "Rss:                2048 kB\n"
                               "AnonHugePages:      2048 kB\n";
    struct process_memory_usage usage;
    assert_int_equal(parse(text, &guest_ram, 1, &usage), 0);
    assert_int_equal(usage.total_rss_kib, 16384 + 2048 + 2048);
    assert_int_equal(usage.guest_rss_kib, 16384 + 2048);
    assert_int_equal(usage.guest_huge_kib, 14336 + 2048);
    /* Malformed, or before any mapping: the parse fails. */
    assert_int_equal(parse("7f0000000000-7f0010000000 rw-p 0 00:00 0 \nAnonHugePages: x kB\n", &guest_ram, 1, &usage),
                     -1);
    assert_int_equal(parse("AnonHugePages: 2048 kB\n", &guest_ram, 1, &usage), -1);
}

static void test_no_guest_ranges_count_everything_as_vmm(void **state)
{
    (void)state;
    struct process_memory_usage usage;
    assert_int_equal(parse(smaps_text, NULL, 0, &usage), 0);
    assert_int_equal(usage.total_rss_kib, 18084);
    assert_int_equal(usage.guest_rss_kib, 0);
}

/* A mapping only partly inside guest RAM is counted as VMM, so the overhead is never understated. */
static void test_partial_overlap_counts_as_vmm(void **state)
{
    (void)state;
    struct process_memory_range half = {.start = 0x7f0000000000ull, .size = 0x08000000ull};
    struct process_memory_usage usage;
    assert_int_equal(parse(smaps_text, &half, 1, &usage), 0);
    assert_int_equal(usage.guest_rss_kib, 0);
    /* Two adjacent guest ranges that together cover one mapping: guest. */
    struct process_memory_range split[2] = {
        {.start = 0x7f0000000000ull, .size = 0x08000000ull},
        {.start = 0x7f0008000000ull, .size = 0x08000000ull},
    };
    assert_int_equal(parse(smaps_text, split, 2, &usage), 0);
    assert_int_equal(usage.guest_rss_kib, 17000);
    /* A range reaching the top of the address space does not wrap. */
    struct process_memory_range top = {.start = 0x7f0010000000ull, .size = UINT64_MAX};
    assert_int_equal(parse(smaps_text, &top, 1, &usage), 0);
    assert_int_equal(usage.guest_rss_kib, 732 + 12);
}

static void test_empty_and_truncated_text(void **state)
{
    (void)state;
    struct process_memory_usage usage;
    assert_int_equal(parse("", &guest_ram, 1, &usage), 0);
    assert_int_equal(usage.total_rss_kib, 0);
    /* No trailing newline after the last field. */
    assert_int_equal(parse("7f0000000000-7f0000001000 rw-p 0 00:00 0\nRss: 4 kB", &guest_ram, 1, &usage), 0);
    assert_int_equal(usage.guest_rss_kib, 4);
    /* Cut before the Rss line: the mapping has no Rss, which is not an error. */
    assert_int_equal(parse("7f0000000000-7f0000001000 rw-p 0 00:00 0\nSize: 4 kB\n", &guest_ram, 1, &usage), 0);
    assert_int_equal(usage.mappings, 1);
}

static void test_malformed_text_is_rejected(void **state)
{
    (void)state;
    struct process_memory_usage usage;
    static const char *const bad[] = {
        "Rss: 4 kB\n",                                                  /* Rss before any mapping */
        "7f00-7e00 rw-p 0 00:00 0\n",                                   /* end before start */
        "7f00 rw-p 0 00:00 0\n",                                        /* no end address */
        "7f00-\n",                                                      /* truncated header */
        "11111111111111111-22222222222222222 rw-p 0 00:00 0\n",         /* more than 64 bits */
        "7f00-7f10 rw-p 0 00:00 0\nRss: x kB\n",                        /* not a number */
        "7f00-7f10 rw-p 0 00:00 0\nRss: 4 MB\n",                        /* wrong unit */
        "7f00-7f10 rw-p 0 00:00 0\nRss: 4\n",                           /* no unit */
        "7f00-7f10 rw-p 0 00:00 0\nRss: 4 kB\nRss: 4 kB\n",             /* two Rss lines */
        "7f00-7f10 rw-p 0 00:00 0\nRss: 99999999999999999999999 kB\n", /* overflows */
        "7f00-7f10 rw-p 0 00:00 0\nRss: 18446744073709551615 kB\n"
        "7f10-7f20 rw-p 0 00:00 0\nRss: 1 kB\n",                        /* the sum overflows */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &guest_ram, 1, &usage) != -1)
            fail_msg("accepted malformed smaps text %zu: %s", i, bad[i]);
    }
}

/* The length bounds the parse: bytes after it are never read, even without a NUL. */
static void test_length_bounds_the_parse(void **state)
{
    (void)state;
    static const char text[] = "7f0000000000-7f0000001000 rw-p 0 00:00 0\nRss: 4 kB\nRss: 4 kB\n";
    size_t first = strlen("7f0000000000-7f0000001000 rw-p 0 00:00 0\nRss: 4 kB\n");
    char *exact = malloc(first);
    assert_non_null(exact);
    memcpy(exact, text, first);
    struct process_memory_usage usage;
    assert_int_equal(process_memory_parse_smaps(exact, first, &guest_ram, 1, &usage), 0);
    assert_int_equal(usage.guest_rss_kib, 4);
    free(exact);
}

/* The real file: a touched anonymous mapping passed as guest RAM shows up as guest Rss. */
static void test_measure_reads_this_process(void **state)
{
    (void)state;
    size_t size = 1u << 20;
    uint8_t *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(ram != MAP_FAILED);
    madvise(ram, size, MADV_DONTDUMP);
    memset(ram, 1, size / 2);
    struct process_memory_range range = {.start = (uint64_t)(uintptr_t)ram, .size = size};
    struct process_memory_usage usage;
    struct error error = {0};
    assert_int_equal(process_memory_measure(&range, 1, &usage, &error), 0);
    assert_int_equal(usage.guest_rss_kib, size / 2 / 1024);
    assert_true(usage.total_rss_kib > usage.guest_rss_kib);
    munmap(ram, size);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guest_and_vmm_rss_are_separated),
        cmocka_unit_test(test_hugetlb_pages_count_as_resident),
        cmocka_unit_test(test_guest_transparent_huge_pages_are_counted),
        cmocka_unit_test(test_no_guest_ranges_count_everything_as_vmm),
        cmocka_unit_test(test_partial_overlap_counts_as_vmm),
        cmocka_unit_test(test_empty_and_truncated_text),
        cmocka_unit_test(test_malformed_text_is_rejected),
        cmocka_unit_test(test_length_bounds_the_parse),
        cmocka_unit_test(test_measure_reads_this_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The seg_max rule of virtqueue.h: Linux puts seg_max + 2 entries in one
 * indirect table and kestrel refuses a table longer than the queue size, so a
 * device may advertise at most queue size − 2 segments. The end-to-end check
 * builds the largest table Linux would for the largest allowed seg_max, on
 * both layouts, and shows one more entry breaks the queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit/guarded_memory.h"
#include "virtio/virtqueue.h"

enum {
    RAM_SIZE = 0x40000,
    DESC_GPA = 0x1000,
    DRIVER_GPA = 0x8000,
    DEVICE_GPA = 0x9000,
    TABLE_GPA = 0x10000,
    BUFFER_GPA = 0x20000,
    SEGMENTS = 64,
};

static void test_largest_seg_max_leaves_room_for_header_and_status(void **state)
{
    (void)state;
    assert_int_equal(virtq_largest_seg_max(VIRTQ_MAX_SIZE), VIRTQ_MAX_SIZE - 2);
    assert_int_equal(virtq_largest_seg_max(256), 254);
    assert_int_equal(virtq_largest_seg_max(3), 1);
    assert_int_equal(virtq_largest_seg_max(2), 0);
    assert_int_equal(virtq_largest_seg_max(1), 0);
    assert_int_equal(virtq_largest_seg_max(0), 0);
}

static void test_check_seg_max(void **state)
{
    (void)state;
    assert_int_equal(virtq_check_seg_max(256, 254), 0);
    assert_int_equal(virtq_check_seg_max(256, 1), 0);
    /* The old "up to the queue size" rule: one table of 258 entries, which a 256-entry queue refuses. */
    assert_int_equal(virtq_check_seg_max(256, 256), -1);
    assert_int_equal(virtq_check_seg_max(256, 255), -1);
    /* Linux reads 0 as 1. */
    assert_int_equal(virtq_check_seg_max(256, 0), -1);
    assert_int_equal(virtq_check_seg_max(2, 1), -1);
    assert_int_equal(virtq_check_seg_max(3, 1), 0);
    assert_int_equal(virtq_check_seg_max(VIRTQ_MAX_SIZE, UINT32_MAX), -1);
}

/* A Linux-shaped block request in one indirect table: header, `data` segments, status. */
static void write_block_table(enum virtq_layout layout, uint8_t *table, uint32_t data)
{
    uint32_t entries = data + 2;
    for (uint32_t i = 0; i < entries; i++) {
        bool last = i + 1 == entries;
        uint64_t addr = BUFFER_GPA + 16ull * i;
        /* Only the status byte at the end is written by the device. */
        uint16_t flags = (uint16_t)(last ? VRING_DESC_F_WRITE : VRING_DESC_F_NEXT);
        if (layout == VIRTQ_LAYOUT_SPLIT) {
            struct vring_desc entry = {.addr = addr, .len = 16, .flags = flags, .next = (uint16_t)(i + 1)};
            memcpy(table + 16ull * i, &entry, sizeof(entry));
        } else {
            struct vring_packed_desc entry = {.addr = addr, .len = 16, .flags = flags};
            memcpy(table + 16ull * i, &entry, sizeof(entry));
        }
    }
}

/* Offers one indirect request of `data` data segments on a fresh queue of `size`; returns what pop made of it. */
static enum virtq_pop_result pop_block_request(enum virtq_layout layout, uint16_t size, uint32_t data)
{
    struct guest_memory memory = {0};
    guarded_memory_add(&memory, 0, RAM_SIZE);
    uint8_t *ram = gpa_to_hva(&memory, 0, RAM_SIZE);
    struct virtq_config config = {
        .layout = layout, .size = size, .indirect = true,
        .desc_gpa = DESC_GPA, .driver_gpa = DRIVER_GPA, .device_gpa = DEVICE_GPA,
    };
    uint32_t table_len = 16 * (data + 2);
    write_block_table(layout, ram + TABLE_GPA, data);
    if (layout == VIRTQ_LAYOUT_SPLIT) {
        struct vring_desc head = {.addr = TABLE_GPA, .len = table_len, .flags = VRING_DESC_F_INDIRECT};
        memcpy(ram + DESC_GPA, &head, sizeof(head));
        struct vring_avail *avail = (struct vring_avail *)(ram + DRIVER_GPA);
        avail->ring[0] = 0;
        __atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
    } else {
        struct vring_packed_desc *head = (struct vring_packed_desc *)(ram + DESC_GPA);
        head->addr = TABLE_GPA;
        head->len = table_len;
        head->id = 0;
        __atomic_store_n(&head->flags, (uint16_t)(VRING_DESC_F_INDIRECT | 1u << VRING_PACKED_DESC_F_AVAIL),
                         __ATOMIC_RELEASE);
    }
    struct virtq *queue = calloc(1, sizeof(*queue));
    assert_non_null(queue);
    assert_int_equal(virtq_enable(queue, &memory, &config), 0);
    struct iovec segments[SEGMENTS];
    struct virtq_request request = {.segments = segments, .segment_capacity = SEGMENTS};
    enum virtq_pop_result result = virtq_pop(queue, &request);
    if (result == VIRTQ_POP_OK)
        assert_int_equal(request.readable_count + request.writable_count, data + 2);
    free(queue);
    guarded_memory_destroy(&memory);
    return result;
}

static void check_largest_request_pops(enum virtq_layout layout)
{
    uint16_t size = 16;
    uint32_t seg_max = virtq_largest_seg_max(size);
    assert_int_equal(virtq_check_seg_max(size, seg_max), 0);
    assert_int_equal(pop_block_request(layout, size, seg_max), VIRTQ_POP_OK);
    /* One segment more, as a device advertising seg_max = size − 1 would allow: the table is too long. */
    assert_int_equal(virtq_check_seg_max(size, seg_max + 1), -1);
    assert_int_equal(pop_block_request(layout, size, seg_max + 1), VIRTQ_POP_BROKEN);
}

static void test_split_largest_allowed_request_pops(void **state)
{
    (void)state;
    check_largest_request_pops(VIRTQ_LAYOUT_SPLIT);
}

static void test_packed_largest_allowed_request_pops(void **state)
{
    (void)state;
    check_largest_request_pops(VIRTQ_LAYOUT_PACKED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_largest_seg_max_leaves_room_for_header_and_status),
        cmocka_unit_test(test_check_seg_max),
        cmocka_unit_test(test_split_largest_allowed_request_pops),
        cmocka_unit_test(test_packed_largest_allowed_request_pops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

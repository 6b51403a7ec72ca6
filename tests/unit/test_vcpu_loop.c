#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vcpu_loop.h"

/* A kvm_run area as KVM would map it, filled in by hand: the exits a hostile guest can cause. */
enum { RUN_SIZE = 4096, MAX_ACCESSES = 16, DEVICE_PORT = 0x3f8, DEVICE_MMIO = 0xd0000000u };

struct recording_device {
    unsigned accesses;
    uint64_t offsets[MAX_ACCESSES];
    uint32_t sizes[MAX_ACCESSES];
    uint8_t written[MAX_ACCESSES][8];
    bool wrote[MAX_ACCESSES];
};

static void record_read(void *opaque, uint64_t offset, void *data, uint32_t size)
{
    struct recording_device *device = opaque;
    if (device->accesses < MAX_ACCESSES) {
        device->offsets[device->accesses] = offset;
        device->sizes[device->accesses] = size;
        device->accesses++;
    }
    memset(data, 0x40 + (int)device->accesses, size);
}

static void record_write(void *opaque, uint64_t offset, const void *data, uint32_t size)
{
    struct recording_device *device = opaque;
    if (device->accesses < MAX_ACCESSES) {
        device->offsets[device->accesses] = offset;
        device->sizes[device->accesses] = size;
        memcpy(device->written[device->accesses], data, size);
        device->wrote[device->accesses] = true;
        device->accesses++;
    }
}

static const struct io_device_ops recording_ops = {.read = record_read, .write = record_write};

struct fixture {
    struct kvm_run *run;
    struct kvm_vcpu vcpu;
    struct io_bus pio;
    struct io_bus mmio;
    struct vm_stop stop;
    struct recording_device port_device;
    struct recording_device mmio_device;
    struct vcpu_loop loop;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    assert_non_null(fixture);
    fixture->run = aligned_alloc(4096, RUN_SIZE);
    assert_non_null(fixture->run);
    memset(fixture->run, 0, RUN_SIZE);
    fixture->vcpu = (struct kvm_vcpu){.fd = -1, .index = 0, .run = fixture->run, .run_size = RUN_SIZE};
    io_bus_init(&fixture->pio, "pio");
    io_bus_init(&fixture->mmio, "mmio");
    struct error error;
    assert_int_equal(io_bus_register(&fixture->pio, DEVICE_PORT, 8, "recorder", &recording_ops,
                                     &fixture->port_device, &error), 0);
    assert_int_equal(io_bus_register(&fixture->mmio, DEVICE_MMIO, 0x1000, "recorder", &recording_ops,
                                     &fixture->mmio_device, &error), 0);
    assert_int_equal(vm_stop_init(&fixture->stop, &error), 0);
    fixture->loop = (struct vcpu_loop){
        .vcpu = &fixture->vcpu,
        .pio = &fixture->pio,
        .mmio = &fixture->mmio,
        .stop = &fixture->stop,
    };
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    vm_stop_destroy(&fixture->stop);
    free(fixture->run);
    free(fixture);
    return 0;
}

static void set_io(struct kvm_run *run, uint8_t direction, uint8_t size, uint16_t port, uint32_t count,
                   uint64_t data_offset)
{
    run->exit_reason = KVM_EXIT_IO;
    run->io.direction = direction;
    run->io.size = size;
    run->io.port = port;
    run->io.count = count;
    run->io.data_offset = data_offset;
}

static void test_string_out_writes_each_item(void **state)
{
    struct fixture *fixture = *state;
    set_io(fixture->run, KVM_EXIT_IO_OUT, 1, DEVICE_PORT, 5, 0x200);
    memcpy((uint8_t *)fixture->run + 0x200, "hello", 5);
    assert_true(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(fixture->port_device.accesses, 5);
    for (unsigned i = 0; i < 5; i++) {
        assert_true(fixture->port_device.wrote[i]);
        assert_int_equal(fixture->port_device.offsets[i], 0);
        assert_int_equal(fixture->port_device.written[i][0], "hello"[i]);
    }
    assert_int_equal(vm_stop_current(&fixture->stop), VM_STOP_NONE);
    assert_int_equal(fixture->loop.stats.by_reason[KVM_EXIT_IO], 1);
}

static void test_string_in_fills_each_item(void **state)
{
    struct fixture *fixture = *state;
    set_io(fixture->run, KVM_EXIT_IO_IN, 2, DEVICE_PORT + 5, 3, 0x100);
    assert_true(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(fixture->port_device.accesses, 3);
    uint8_t *data = (uint8_t *)fixture->run + 0x100;
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(fixture->port_device.offsets[i], 5);
        assert_int_equal(fixture->port_device.sizes[i], 2);
        assert_int_equal(data[2 * i], 0x40 + i + 1);
        assert_int_equal(data[2 * i + 1], 0x40 + i + 1);
    }
}

static void expect_rejected(struct fixture *fixture)
{
    assert_false(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(vm_stop_current(&fixture->stop), VM_STOP_ERROR);
    assert_int_equal(fixture->port_device.accesses, 0);
    assert_int_equal(fixture->mmio_device.accesses, 0);
}

static void test_io_data_beyond_the_run_area(void **state)
{
    struct fixture *fixture = *state;
    set_io(fixture->run, KVM_EXIT_IO_OUT, 4, DEVICE_PORT, 2, RUN_SIZE - 4);
    expect_rejected(fixture);
}

static void test_io_count_overflow(void **state)
{
    struct fixture *fixture = *state;
    set_io(fixture->run, KVM_EXIT_IO_IN, 4, DEVICE_PORT, 0xffffffffu, 0x100);
    expect_rejected(fixture);
}

static void test_io_offset_past_the_end(void **state)
{
    struct fixture *fixture = *state;
    set_io(fixture->run, KVM_EXIT_IO_OUT, 1, DEVICE_PORT, 1, UINT64_MAX);
    expect_rejected(fixture);
}

static void test_io_bad_size(void **state)
{
    struct fixture *fixture = *state;
    set_io(fixture->run, KVM_EXIT_IO_OUT, 3, DEVICE_PORT, 1, 0x100);
    expect_rejected(fixture);
}

static void test_io_exactly_at_the_end(void **state)
{
    struct fixture *fixture = *state;
    set_io(fixture->run, KVM_EXIT_IO_OUT, 4, DEVICE_PORT, 2, RUN_SIZE - 8);
    assert_true(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(fixture->port_device.accesses, 2);
}

static void test_unclaimed_port(void **state)
{
    struct fixture *fixture = *state;
    set_io(fixture->run, KVM_EXIT_IO_IN, 1, 0x80, 1, 0x100);
    assert_true(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(*((uint8_t *)fixture->run + 0x100), 0xff);
    assert_int_equal(atomic_load(&fixture->pio.unclaimed_count), 1);
}

static void test_mmio(void **state)
{
    struct fixture *fixture = *state;
    struct kvm_run *run = fixture->run;
    run->exit_reason = KVM_EXIT_MMIO;
    run->mmio.phys_addr = DEVICE_MMIO + 0x10;
    run->mmio.len = 4;
    run->mmio.is_write = 1;
    memcpy(run->mmio.data, "\x01\x02\x03\x04", 4);
    assert_true(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(fixture->mmio_device.accesses, 1);
    assert_int_equal(fixture->mmio_device.offsets[0], 0x10);
    assert_memory_equal(fixture->mmio_device.written[0], "\x01\x02\x03\x04", 4);
    run->mmio.is_write = 0;
    run->mmio.len = 8;
    assert_true(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(run->mmio.data[7], 0x42);
}

static void test_mmio_bad_length(void **state)
{
    struct fixture *fixture = *state;
    struct kvm_run *run = fixture->run;
    run->exit_reason = KVM_EXIT_MMIO;
    run->mmio.phys_addr = DEVICE_MMIO;
    run->mmio.len = 9;
    run->mmio.is_write = 1;
    expect_rejected(fixture);
}

static void test_system_events(void **state)
{
    struct fixture *fixture = *state;
    fixture->run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
    fixture->run->system_event.type = KVM_SYSTEM_EVENT_WAKEUP;
    assert_true(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(vm_stop_current(&fixture->stop), VM_STOP_NONE);
    fixture->run->system_event.type = KVM_SYSTEM_EVENT_CRASH;
    assert_false(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(vm_stop_current(&fixture->stop), VM_STOP_PANIC);
    /* The reset a panic=-1 guest does next does not replace the panic. */
    fixture->run->system_event.type = KVM_SYSTEM_EVENT_RESET;
    assert_false(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(vm_stop_current(&fixture->stop), VM_STOP_PANIC);
}

static void test_system_event_shutdown(void **state)
{
    struct fixture *fixture = *state;
    fixture->run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
    fixture->run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
    assert_false(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(vm_stop_current(&fixture->stop), VM_STOP_POWER_OFF);
}

static void test_triple_fault_is_an_error(void **state)
{
    struct fixture *fixture = *state;
    fixture->run->exit_reason = KVM_EXIT_SHUTDOWN;
    assert_false(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(vm_stop_current(&fixture->stop), VM_STOP_ERROR);
}

static void test_triple_fault_after_a_reset_request(void **state)
{
    struct fixture *fixture = *state;
    vm_stop_request(&fixture->stop, VM_STOP_RESET);
    fixture->run->exit_reason = KVM_EXIT_SHUTDOWN;
    assert_false(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(vm_stop_current(&fixture->stop), VM_STOP_RESET);
}

static void test_fatal_exits(void **state)
{
    struct fixture *fixture = *state;
    uint32_t reasons[] = {KVM_EXIT_FAIL_ENTRY, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_DEBUG, 1000};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        struct error error;
        vm_stop_destroy(&fixture->stop);
        assert_int_equal(vm_stop_init(&fixture->stop, &error), 0);
        fixture->run->exit_reason = reasons[i];
        assert_false(vcpu_loop_handle_exit(&fixture->loop));
        assert_int_equal(vm_stop_current(&fixture->stop), VM_STOP_ERROR);
    }
    assert_int_equal(fixture->loop.stats.other, 1);
    assert_int_equal(fixture->loop.stats.by_reason[KVM_EXIT_FAIL_ENTRY], 1);
}

static void test_hlt_and_intr_resume(void **state)
{
    struct fixture *fixture = *state;
    fixture->run->exit_reason = KVM_EXIT_HLT;
    assert_true(vcpu_loop_handle_exit(&fixture->loop));
    fixture->run->exit_reason = KVM_EXIT_INTR;
    assert_true(vcpu_loop_handle_exit(&fixture->loop));
    assert_int_equal(vm_stop_current(&fixture->stop), VM_STOP_NONE);
    assert_int_equal(exit_stats_total(&fixture->loop.stats), 2);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_string_out_writes_each_item),
        TEST(test_string_in_fills_each_item),
        TEST(test_io_data_beyond_the_run_area),
        TEST(test_io_count_overflow),
        TEST(test_io_offset_past_the_end),
        TEST(test_io_bad_size),
        TEST(test_io_exactly_at_the_end),
        TEST(test_unclaimed_port),
        TEST(test_mmio),
        TEST(test_mmio_bad_length),
        TEST(test_system_events),
        TEST(test_system_event_shutdown),
        TEST(test_triple_fault_is_an_error),
        TEST(test_triple_fault_after_a_reset_request),
        TEST(test_fatal_exits),
        TEST(test_hlt_and_intr_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The KVM wrappers and the vCPU setup against the host's real /dev/kvm: a VM
 * with the in-kernel irqchip and PIT, one vCPU set up for each boot entry
 * mode, the state read back through KVM, and a few instructions run at the
 * entry point (string port I/O through vcpu_loop_handle_exit). Skipped
 * where /dev/kvm cannot be opened; a PVM /dev/kvm runs this small code too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "arch/x86/layout.h"
#include "arch/x86/msr.h"
#include "arch/x86/regs.h"
#include "arch/x86/vcpu_setup.h"
#include "kvm/kvm_system.h"
#include "kvm/kvm_vcpu.h"
#include "kvm/kvm_vm.h"
#include "kvm_test_guest.h"
#include "vcpu_loop.h"
#include "vmm_stats.h"

#include <json-c/json.h>

enum { TEST_PORT = 0x3f8, DONE_OFFSET = 7, ENTRY_GPA = 0x100000 };

struct port_recorder {
    char text[64];
    size_t length;
    bool done;
};

static void recorder_read(void *device, uint64_t offset, void *data, uint32_t size)
{
    (void)device;
    (void)offset;
    memset(data, 0, size);
}

static void recorder_write(void *device, uint64_t offset, const void *data, uint32_t size)
{
    struct port_recorder *recorder = device;
    if (offset == DONE_OFFSET) {
        recorder->done = true;
    } else if (offset == 0 && size == 1 && recorder->length < sizeof(recorder->text) - 1) {
        recorder->text[recorder->length++] = *(const char *)data;
    }
}

static const struct io_device_ops recorder_ops = {.read = recorder_read, .write = recorder_write};

struct fixture {
    struct kvm_system kvm;
    struct kvm_vm vm;
    struct guest_memory memory;
    struct kvm_vcpu vcpu;
    struct kvm_cpuid2 *cpuid;
    struct kvm_msr_list *msrs;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    struct error error;
    assert_non_null(fixture);
    if (kvm_system_open(&fixture->kvm, &error) < 0)
        fail_msg("%s", error.message);
    assert_int_equal(guest_memory_create(&fixture->memory, 16ull << 20, &error), 0);
    assert_int_equal(kvm_vm_create(&fixture->vm, &fixture->kvm, &fixture->memory, &error), 0);
    fixture->cpuid = kvm_system_supported_cpuid(&fixture->kvm, &error);
    fixture->msrs = kvm_system_msr_index_list(&fixture->kvm, &error);
    assert_non_null(fixture->cpuid);
    assert_non_null(fixture->msrs);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->vcpu.run)
        kvm_vcpu_destroy(&fixture->vcpu);
    free(fixture->cpuid);
    free(fixture->msrs);
    kvm_vm_destroy(&fixture->vm);
    guest_memory_destroy(&fixture->memory);
    kvm_system_close(&fixture->kvm);
    free(fixture);
    return 0;
}

static void test_system_queries(void **state)
{
    struct fixture *fixture = *state;
    assert_true(fixture->kvm.max_vcpus >= 1);
    assert_true(fixture->kvm.recommended_vcpus >= 1);
    assert_true(fixture->kvm.vcpu_mmap_size >= sizeof(struct kvm_run));
    assert_true(fixture->cpuid->nent > 4);
    assert_true(fixture->msrs->nmsrs > 4);
    assert_true(kvm_system_check_extension(&fixture->kvm, KVM_CAP_IRQCHIP) > 0);
    assert_int_equal(kvm_vm_set_irq_line(&fixture->vm, 4, true), 0);
    assert_int_equal(kvm_vm_set_irq_line(&fixture->vm, 4, false), 0);
}

static void create_vcpu(struct fixture *fixture, unsigned index, const struct boot_entry *entry)
{
    struct error error;
    assert_int_equal(kvm_vcpu_create(&fixture->vcpu, &fixture->kvm, &fixture->vm, index, &error), 0);
    struct x86_vcpu_template template = {
        .supported_cpuid = fixture->cpuid,
        .supported_msrs = fixture->msrs,
        .vcpu_count = 2,
    };
    if (x86_vcpu_setup(&fixture->vcpu, &template, entry, &error) < 0)
        fail_msg("x86_vcpu_setup: %s", error.message);
}

static void test_boot_vcpu_state_reads_back(void **state)
{
    struct fixture *fixture = *state;
    struct boot_entry entry = {.mode = BOOT_ENTRY_LINUX_64BIT, .entry_gpa = ENTRY_GPA, .boot_info_gpa = 0x7000};
    create_vcpu(fixture, 0, &entry);
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    assert_int_equal(ioctl(fixture->vcpu.fd, KVM_GET_SREGS, &sregs), 0);
    assert_int_equal(ioctl(fixture->vcpu.fd, KVM_GET_REGS, &regs), 0);
    assert_true(sregs.cr0 & 0x80000001ull);
    assert_int_equal(sregs.cr3, LAYOUT_PML4_GPA);
    assert_true(sregs.efer & 0x500);
    assert_int_equal(sregs.cs.l, 1);
    assert_int_equal(regs.rip, ENTRY_GPA);
    assert_int_equal(regs.rsi, 0x7000);
    struct kvm_lapic_state lapic;
    assert_int_equal(ioctl(fixture->vcpu.fd, KVM_GET_LAPIC, &lapic), 0);
    assert_int_equal((regs_lapic_read(&lapic, 0x350) >> 8) & 7, 7); /* LINT0 ExtINT */
    assert_int_equal((regs_lapic_read(&lapic, 0x360) >> 8) & 7, 4); /* LINT1 NMI */
    struct {
        struct kvm_msrs header;
        struct kvm_msr_entry entry;
    } *msrs = calloc(1, sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry));
    assert_non_null(msrs);
    msrs->header.nmsrs = 1;
    msrs->header.entries[0].index = MSR_IA32_MISC_ENABLE;
    assert_int_equal(ioctl(fixture->vcpu.fd, KVM_GET_MSRS, msrs), 1);
    assert_true(msrs->header.entries[0].data & MSR_IA32_MISC_ENABLE_FAST_STRING);
    free(msrs);
}

static void test_application_processor_keeps_reset_state(void **state)
{
    struct fixture *fixture = *state;
    create_vcpu(fixture, 1, NULL);
    struct kvm_sregs sregs;
    assert_int_equal(ioctl(fixture->vcpu.fd, KVM_GET_SREGS, &sregs), 0);
    assert_int_equal(sregs.efer & 0x500, 0); /* not in long mode: waits for INIT/SIPI */
    struct kvm_mp_state mp_state;
    assert_int_equal(ioctl(fixture->vcpu.fd, KVM_GET_MP_STATE, &mp_state), 0);
    assert_int_equal(mp_state.mp_state, KVM_MP_STATE_UNINITIALIZED);
}

/*
 * At ENTRY_GPA in 64-bit mode: rep outsb "hello" to TEST_PORT, then a write to
 * TEST_PORT + DONE_OFFSET, then a tight loop.
 */
static const uint8_t long_mode_code[] = {
    0x66, 0xba, 0xf8, 0x03,             /* mov dx, 0x3f8 */
    0x48, 0x8d, 0x35, 0x10, 0, 0, 0,    /* lea rsi, [rip + 16] -> message */
    0xb9, 0x05, 0, 0, 0,                /* mov ecx, 5 */
    0xf3, 0x6e,                         /* rep outsb */
    0x66, 0xba, 0xff, 0x03,             /* mov dx, 0x3ff */
    0xb0, 0x01,                         /* mov al, 1 */
    0xee,                               /* out dx, al */
    0xeb, 0xfe,                         /* jmp $ */
    'h', 'e', 'l', 'l', 'o',
};

/* The long-mode guest above, loaded at the entry point, on a vCPU whose loop dispatches to a port recorder. */
struct hello_guest {
    struct io_bus pio, mmio;
    struct port_recorder recorder;
    struct vm_stop stop;
    struct vcpu_loop loop;
};

static void hello_guest_prepare(struct fixture *fixture, struct hello_guest *guest)
{
    struct error error;
    assert_int_equal(regs_write_boot_gdt(&fixture->memory, BOOT_ENTRY_LINUX_64BIT, &error), 0);
    assert_int_equal(regs_write_identity_page_tables(&fixture->memory, &error), 0);
    assert_int_equal(guest_memory_write(&fixture->memory, ENTRY_GPA, long_mode_code, sizeof(long_mode_code)), 0);
    struct boot_entry entry = {.mode = BOOT_ENTRY_LINUX_64BIT, .entry_gpa = ENTRY_GPA, .boot_info_gpa = 0x7000};
    create_vcpu(fixture, 0, &entry);
    io_bus_init(&guest->pio, "pio");
    io_bus_init(&guest->mmio, "mmio");
    guest->recorder = (struct port_recorder){.length = 0};
    assert_int_equal(io_bus_register(&guest->pio, TEST_PORT, 8, "recorder", &recorder_ops, &guest->recorder, &error), 0);
    assert_int_equal(vm_stop_init(&guest->stop, &error), 0);
    guest->loop = (struct vcpu_loop){.vcpu = &fixture->vcpu, .pio = &guest->pio, .mmio = &guest->mmio, .stop = &guest->stop};
}

static void test_long_mode_entry_runs_guest_code(void **state)
{
    struct fixture *fixture = *state;
    struct hello_guest guest;
    hello_guest_prepare(fixture, &guest);
    kvm_test_run_until(&guest.loop, &guest.recorder.done);
    assert_true(guest.recorder.done);
    guest.recorder.text[guest.recorder.length] = '\0';
    assert_string_equal(guest.recorder.text, "hello");
    assert_int_equal(vm_stop_current(&guest.stop), VM_STOP_NONE);
    assert_true(guest.loop.stats.by_reason[KVM_EXIT_IO] >= 2);
    vm_stop_destroy(&guest.stop);
}

static struct json_object *json_member(struct json_object *object, const char *key)
{
    struct json_object *value = NULL;
    if (!json_object_object_get_ex(object, key, &value))
        fail_msg("no \"%s\" in %s", key, json_object_to_json_string(object));
    return value;
}

/* The live statistics of a vCPU that ran: kestrel's exit counts, KVM's where the host has them, the port's device. */
static void test_live_stats_of_a_running_guest(void **state)
{
    struct fixture *fixture = *state;
    struct error error;
    struct hello_guest guest;
    hello_guest_prepare(fixture, &guest);
    struct vmm_stats stats;
    const struct vmm_stats_inputs inputs = {.vm = &fixture->vm,
                                            .vcpus = &fixture->vcpu,
                                            .loops = &guest.loop,
                                            .vcpu_count = 1,
                                            .pio = &guest.pio,
                                            .mmio = &guest.mmio};
    assert_int_equal(vmm_stats_open(&stats, &inputs, &error), 0);
    kvm_test_run_until(&guest.loop, &guest.recorder.done);
    assert_true(guest.recorder.done);

    char *text = vmm_stats_render(&stats, VM_STATS_JSON, NULL);
    struct json_object *root = json_tokener_parse(text);
    assert_non_null(root);
    struct json_object *vcpu = json_object_array_get_idx(json_member(root, "vcpus"), 0);
    assert_true(json_object_get_uint64(json_member(json_member(vcpu, "exits"), "io")) >= 2);
    bool host_has_stats = kvm_system_check_extension(&fixture->kvm, KVM_CAP_BINARY_STATS_FD) > 0;
    assert_string_equal(json_object_get_string(json_member(vcpu, "source")), host_has_stats ? "kvm" : "kestrel");
    assert_string_equal(json_object_get_string(json_member(root, "source")), host_has_stats ? "kvm" : "kestrel");
    if (host_has_stats)
        assert_true(json_object_get_uint64(json_member(json_member(vcpu, "kvm"), "exits")) >= 2);
    struct json_object *device = json_object_array_get_idx(json_member(root, "devices"), 0);
    assert_string_equal(json_object_get_string(json_member(device, "name")), "recorder");
    assert_true(json_object_get_uint64(json_member(device, "pio_exits")) >= 6);
    json_object_put(root);
    free(text);
    vmm_stats_close(&stats);
    vm_stop_destroy(&guest.stop);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    if (kvm_test_unavailable("KVM vCPU tests"))
        return 0;
    const struct CMUnitTest tests[] = {
        TEST(test_system_queries),
        TEST(test_boot_vcpu_state_reads_back),
        TEST(test_application_processor_keeps_reset_state),
        TEST(test_long_mode_entry_runs_guest_code),
        TEST(test_live_stats_of_a_running_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

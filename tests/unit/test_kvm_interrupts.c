/*
 * The interrupt and notification plumbing against the host's real
 * /dev/kvm: the capabilities, a GSI routing table (KVM's irqchip routes plus
 * MSI routes) accepted by KVM_SET_GSI_ROUTING with legacy lines still
 * working, irqfds attached and detached through the MSI-X KVM backend, and
 * ioeventfds that swallow guest writes (PIO and MMIO, with and without a
 * data match) so they never reach kestrel, and a BAR's ioeventfds moving
 * with the BAR. Skipped where /dev/kvm cannot be
 * opened; a PVM /dev/kvm runs this small guest code too.
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
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch/x86/regs.h"
#include "arch/x86/vcpu_setup.h"
#include "kvm/kvm_eventfd.h"
#include "kvm/kvm_irq_routing.h"
#include "kvm/kvm_system.h"
#include "kvm/kvm_vcpu.h"
#include "kvm/kvm_vm.h"
#include "pci/msix_kvm.h"
#include "pci/pci_ioeventfd.h"
#include "kvm_test_guest.h"
#include "vcpu_loop.h"

enum { ENTRY_GPA = 0x100000, KICK_PORT = 0x3f8, DONE_PORT = 0x3ff };
#define KICK_MMIO 0xc0000000ull

struct fixture {
    struct kvm_system kvm;
    struct kvm_vm vm;
    struct guest_memory memory;
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
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    kvm_vm_destroy(&fixture->vm);
    guest_memory_destroy(&fixture->memory);
    kvm_system_close(&fixture->kvm);
    free(fixture);
    return 0;
}

static void test_capabilities(void **state)
{
    struct fixture *fixture = *state;
    struct error error;
    if (kvm_eventfd_check_capabilities(&fixture->vm, &error) < 0)
        fail_msg("%s", error.message);
}

static void test_routing_table_replaces_the_default(void **state)
{
    struct fixture *fixture = *state;
    struct error error;
    struct gsi_routing routing;
    assert_int_equal(gsi_routing_init(&routing, gsi_routing_submit_to_kvm, &fixture->vm.fd, &error), 0);
    assert_int_equal(gsi_routing_commit(&routing), 0);
    /* Legacy lines still reach the PIC and IOAPIC after the replacement. */
    assert_int_equal(kvm_vm_set_irq_line(&fixture->vm, 4, true), 0);
    assert_int_equal(kvm_vm_set_irq_line(&fixture->vm, 4, false), 0);
    assert_int_equal(kvm_vm_set_irq_line(&fixture->vm, 23, true), 0);
    assert_int_equal(kvm_vm_set_irq_line(&fixture->vm, 23, false), 0);

    int gsi = gsi_routing_allocate_msi(&routing);
    assert_int_equal(gsi, GSI_ROUTING_FIRST_MSI);
    assert_int_equal(gsi_routing_set_msi(&routing, (unsigned)gsi, 0xfee00000, 0x4041), 0);
    assert_int_equal(gsi_routing_set_msi(&routing, (unsigned)gsi + 1, 0xfee00000, 0x41), -EINVAL);
    /* An MSI GSI can be raised like any line (KVM delivers the message). */
    assert_int_equal(kvm_vm_set_irq_line(&fixture->vm, (unsigned)gsi, true), 0);

    /* The table kestrel builds is KVM's default plus the MSI routes. */
    struct kvm_irq_routing *table =
        calloc(1, sizeof(*table) + GSI_ROUTING_MAX_ENTRIES * sizeof(table->entries[0]));
    assert_non_null(table);
    gsi_routing_build(&routing, table);
    assert_int_equal(table->nr, 16 + 24 + 1);
    unsigned pic = 0, ioapic = 0;
    for (unsigned i = 0; i < table->nr; i++) {
        const struct kvm_irq_routing_entry *entry = &table->entries[i];
        if (entry->type == KVM_IRQ_ROUTING_IRQCHIP && entry->u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
            assert_int_equal(entry->u.irqchip.pin, entry->gsi);
            ioapic++;
        } else if (entry->type == KVM_IRQ_ROUTING_IRQCHIP) {
            assert_int_equal(entry->gsi, entry->u.irqchip.pin + (entry->u.irqchip.irqchip == KVM_IRQCHIP_PIC_SLAVE ? 8 : 0));
            assert_true(entry->gsi < 16);
            pic++;
        } else {
            assert_int_equal(entry->type, KVM_IRQ_ROUTING_MSI);
            assert_int_equal(entry->gsi, (unsigned)gsi);
            assert_int_equal(entry->u.msi.address_lo, 0xfee00000);
            assert_int_equal(entry->u.msi.data, 0x4041);
        }
    }
    assert_int_equal(pic, 16);
    assert_int_equal(ioapic, 24);
    gsi_routing_release_msi(&routing, (unsigned)gsi);
    gsi_routing_build(&routing, table);
    assert_int_equal(table->nr, 16 + 24);
    free(table);
    gsi_routing_destroy(&routing);
}

static void test_irqfds_through_the_msix_backend(void **state)
{
    struct fixture *fixture = *state;
    struct error error;
    struct gsi_routing routing;
    assert_int_equal(gsi_routing_init(&routing, gsi_routing_submit_to_kvm, &fixture->vm.fd, &error), 0);
    assert_int_equal(gsi_routing_commit(&routing), 0);
    struct msix_kvm delivery;
    if (msix_kvm_init(&delivery, &fixture->vm, &routing, 4, &error) < 0)
        fail_msg("%s", error.message);
    for (unsigned vector = 0; vector < 4; vector++) {
        const struct msix_kvm_vector *entry = &delivery.vectors[vector];
        assert_true(entry->irqfd_attached);
        assert_int_equal(entry->gsi, GSI_ROUTING_FIRST_MSI + (int)vector);
        /* The same eventfd on the same GSI twice is refused: the first is really attached. */
        assert_int_equal(kvm_irqfd_assign(&fixture->vm, entry->event_fd, (uint32_t)entry->gsi), -EBUSY);
    }
    msix_kvm_delivery.vector_configure(&delivery, 2, 0xfee00000, 0x4062);
    msix_kvm_delivery.vector_signal(&delivery, 2, 0xfee00000, 0x4062);
    /* KVM consumes the eventfd's count when it injects: nothing is left to read. */
    uint64_t count = 0;
    assert_int_equal(read(delivery.vectors[2].event_fd, &count, sizeof(count)), -1);
    assert_int_equal(errno, EAGAIN);
    /* The fallback path. PVM refuses KVM_SIGNAL_MSI with EPERM; real KVM delivers. */
    int signalled = kvm_signal_msi(&fixture->vm, 0xfee00000, 0x4063);
    if (signalled < 0 && !(signalled == -EPERM && kvm_host_is_pvm()))
        fail_msg("KVM_SIGNAL_MSI: %s", strerror(-signalled));
    int event_fd = dup(delivery.vectors[0].event_fd); /* the same eventfd, still open after destroy */
    uint32_t gsi = (uint32_t)delivery.vectors[0].gsi;
    msix_kvm_destroy(&delivery);
    /* Detached by destroy (KVM's deassign reports nothing): attaching it again is no longer EBUSY. */
    assert_int_equal(kvm_irqfd_assign(&fixture->vm, event_fd, gsi), 0);
    assert_int_equal(kvm_irqfd_deassign(&fixture->vm, event_fd, gsi), 0);
    close(event_fd);
    gsi_routing_destroy(&routing);
}

struct write_recorder {
    unsigned writes;
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
    (void)data;
    (void)size;
    struct write_recorder *recorder = device;
    if (offset == DONE_PORT - KICK_PORT)
        recorder->done = true;
    else
        recorder->writes++;
}

static const struct io_device_ops recorder_ops = {.read = recorder_read, .write = recorder_write};

/* Two kicks on the port, two matching MMIO kicks, one MMIO write that does not match, then done. */
static const uint8_t kick_code[] = {
    0x66, 0xba, 0xf8, 0x03,                               /* mov dx, 0x3f8 */
    0xb0, 0x42,                                           /* mov al, 0x42 */
    0xee,                                                 /* out dx, al */
    0xee,                                                 /* out dx, al */
    0xb8, 0x34, 0x12, 0x00, 0x00,                         /* mov eax, 0x1234 */
    0x48, 0xbb, 0x00, 0x00, 0x00, 0xc0, 0, 0, 0, 0,       /* mov rbx, 0xc0000000 */
    0x89, 0x03,                                           /* mov [rbx], eax */
    0x89, 0x03,                                           /* mov [rbx], eax */
    0xb8, 0x99, 0x99, 0x00, 0x00,                         /* mov eax, 0x9999 */
    0x89, 0x03,                                           /* mov [rbx], eax: no match, an exit */
    0x66, 0xba, 0xff, 0x03,                               /* mov dx, 0x3ff */
    0xb0, 0x01,                                           /* mov al, 1 */
    0xee,                                                 /* out dx, al */
    0xeb, 0xfe,                                           /* jmp $ */
};

static void test_ioeventfd_kicks_never_exit(void **state)
{
    struct fixture *fixture = *state;
    struct error error;
    assert_int_equal(regs_write_boot_gdt(&fixture->memory, BOOT_ENTRY_LINUX_64BIT, &error), 0);
    assert_int_equal(regs_write_identity_page_tables(&fixture->memory, &error), 0);
    assert_int_equal(guest_memory_write(&fixture->memory, ENTRY_GPA, kick_code, sizeof(kick_code)), 0);
    struct kvm_cpuid2 *cpuid = kvm_system_supported_cpuid(&fixture->kvm, &error);
    struct kvm_msr_list *msrs = kvm_system_msr_index_list(&fixture->kvm, &error);
    assert_non_null(cpuid);
    assert_non_null(msrs);
    struct kvm_vcpu vcpu;
    assert_int_equal(kvm_vcpu_create(&vcpu, &fixture->kvm, &fixture->vm, 0, &error), 0);
    struct x86_vcpu_template template = {.supported_cpuid = cpuid, .supported_msrs = msrs, .vcpu_count = 1};
    struct boot_entry entry = {.mode = BOOT_ENTRY_LINUX_64BIT, .entry_gpa = ENTRY_GPA, .boot_info_gpa = 0x7000};
    if (x86_vcpu_setup(&vcpu, &template, &entry, &error) < 0)
        fail_msg("x86_vcpu_setup: %s", error.message);

    int port_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int mmio_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(port_kick >= 0 && mmio_kick >= 0);
    const struct kvm_ioeventfd_match port_match = {.address = KICK_PORT, .length = 1, .port_io = true};
    const struct kvm_ioeventfd_match mmio_match = {
        .address = KICK_MMIO, .length = 4, .match_data = true, .data = 0x1234};
    assert_int_equal(kvm_ioeventfd_assign(&fixture->vm, port_kick, &port_match), 0);
    assert_int_equal(kvm_ioeventfd_assign(&fixture->vm, mmio_kick, &mmio_match), 0);
    assert_int_equal(kvm_ioeventfd_assign(&fixture->vm, mmio_kick, &mmio_match), -EEXIST);

    struct io_bus pio, mmio;
    io_bus_init(&pio, "pio");
    io_bus_init(&mmio, "mmio");
    struct write_recorder port_recorder = {0}, mmio_recorder = {0};
    assert_int_equal(io_bus_register(&pio, KICK_PORT, 8, "kick", &recorder_ops, &port_recorder, &error), 0);
    assert_int_equal(io_bus_register(&mmio, KICK_MMIO, 8, "kick", &recorder_ops, &mmio_recorder, &error), 0);
    struct vm_stop stop;
    assert_int_equal(vm_stop_init(&stop, &error), 0);
    struct vcpu_loop loop = {.vcpu = &vcpu, .pio = &pio, .mmio = &mmio, .stop = &stop};
    kvm_test_run_until(&loop, &port_recorder.done);
    assert_true(port_recorder.done);
    uint64_t count = 0;
    assert_int_equal(read(port_kick, &count, sizeof(count)), sizeof(count));
    assert_int_equal(count, 2);
    assert_int_equal(read(mmio_kick, &count, sizeof(count)), sizeof(count));
    assert_int_equal(count, 2);
    /* Only the unmatched write and the done port reached user space. */
    assert_int_equal(port_recorder.writes, 0);
    assert_int_equal(mmio_recorder.writes, 1);

    assert_int_equal(kvm_ioeventfd_deassign(&fixture->vm, port_kick, &port_match), 0);
    assert_int_equal(kvm_ioeventfd_deassign(&fixture->vm, mmio_kick, &mmio_match), 0);
    assert_int_equal(kvm_ioeventfd_deassign(&fixture->vm, mmio_kick, &mmio_match), -ENOENT);
    vm_stop_destroy(&stop);
    close(port_kick);
    close(mmio_kick);
    kvm_vcpu_destroy(&vcpu);
    free(cpuid);
    free(msrs);
}

/* A BAR's ioeventfds registered with the real KVM follow the BAR: proven by what KVM refuses as EEXIST. */
static void test_bar_ioeventfds_move_in_kvm(void **state)
{
    struct fixture *fixture = *state;
    int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(kick >= 0);
    struct pci_bar_ioeventfds set;
    pci_bar_ioeventfds_init(&set, 0x1000, &pci_ioeventfd_kvm_ops, &fixture->vm);
    assert_int_equal(pci_bar_ioeventfds_add(&set, 0x100, 4, false, 0, kick), 0);
    const struct kvm_ioeventfd_match at_old = {.address = 0xc0000100, .length = 4};
    const struct kvm_ioeventfd_match at_new = {.address = 0xc0100100, .length = 4};

    pci_bar_ioeventfds_mapped(&set, 0xc0000000);
    assert_int_equal(set.failures, 0);
    assert_int_equal(kvm_ioeventfd_assign(&fixture->vm, kick, &at_old), -EEXIST);
    /* The bus's order for a move: unmapped at the old address, then mapped at the new one. */
    pci_bar_ioeventfds_unmapped(&set);
    pci_bar_ioeventfds_mapped(&set, 0xc0100000);
    assert_int_equal(set.failures, 0);
    assert_int_equal(kvm_ioeventfd_assign(&fixture->vm, kick, &at_new), -EEXIST);
    assert_int_equal(kvm_ioeventfd_assign(&fixture->vm, kick, &at_old), 0); /* the old place is free */
    assert_int_equal(kvm_ioeventfd_deassign(&fixture->vm, kick, &at_old), 0);
    pci_bar_ioeventfds_unmapped(&set);
    assert_int_equal(kvm_ioeventfd_deassign(&fixture->vm, kick, &at_new), -ENOENT);
    close(kick);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    if (kvm_test_unavailable("KVM interrupt tests"))
        return 0;
    const struct CMUnitTest tests[] = {
        TEST(test_capabilities),
        TEST(test_routing_table_replaces_the_default),
        TEST(test_irqfds_through_the_msix_backend),
        TEST(test_ioeventfd_kicks_never_exit),
        TEST(test_bar_ioeventfds_move_in_kvm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/acpi_aml.h"
#include "arch/x86/acpi_pci.h"
#include "arch/x86/acpi_tables.h"
#include "arch/x86/layout.h"

#define REGION_SIZE (LAYOUT_ACPI_END - LAYOUT_ACPI_START)
/* A 64-bit PCI window that needs more than 32 bits, so its QWord descriptor is checked in full. */
#define TEST_MMIO64_START 0x140000000ull

static uint8_t region[REGION_SIZE];

static uint8_t *table_at(uint64_t gpa)
{
    assert_true(gpa >= LAYOUT_ACPI_START && gpa < LAYOUT_ACPI_END);
    return region + (gpa - LAYOUT_ACPI_START);
}

/* Checks signature, length bounds and checksum of the table at `gpa`; returns its header. */
static const struct acpi_table_header *check_table(uint64_t gpa, const char *signature)
{
    const struct acpi_table_header *header = (const struct acpi_table_header *)table_at(gpa);
    assert_memory_equal(header->signature, signature, 4);
    assert_true(header->length >= sizeof(*header));
    assert_true(gpa - LAYOUT_ACPI_START + header->length <= REGION_SIZE);
    assert_int_equal(acpi_checksum((const uint8_t *)header, header->length), 0);
    assert_memory_equal(header->oem_id, "KESTRL", 6);
    return header;
}

static void build(unsigned cpu_count, struct acpi_tables_layout *layout)
{
    struct error error;
    memset(region, 0xee, sizeof(region));
    assert_int_equal(acpi_tables_build(region, sizeof(region), LAYOUT_ACPI_START, cpu_count, TEST_MMIO64_START, layout, &error), 0);
}

static void test_rsdp(void **state)
{
    (void)state;
    struct acpi_tables_layout layout;
    build(1, &layout);
    assert_int_equal(layout.rsdp_gpa, LAYOUT_ACPI_START);
    assert_int_equal(layout.rsdp_gpa % 16, 0); /* the guest scans on 16-byte boundaries */
    const struct acpi_rsdp *rsdp = (const struct acpi_rsdp *)table_at(layout.rsdp_gpa);
    assert_memory_equal(rsdp->signature, "RSD PTR ", 8);
    assert_int_equal(rsdp->revision, 2);
    assert_int_equal(rsdp->length, 36);
    assert_int_equal(acpi_checksum((const uint8_t *)rsdp, 20), 0);
    assert_int_equal(acpi_checksum((const uint8_t *)rsdp, 36), 0);
    assert_int_equal(rsdp->xsdt_address, layout.xsdt_gpa);
    assert_int_equal(rsdp->rsdt_address, layout.rsdt_gpa);
    assert_true(layout.used_bytes <= REGION_SIZE);
}

static void test_root_tables_list_fadt_and_madt(void **state)
{
    (void)state;
    struct acpi_tables_layout layout;
    build(1, &layout);
    const struct acpi_table_header *xsdt = check_table(layout.xsdt_gpa, "XSDT");
    const struct acpi_table_header *rsdt = check_table(layout.rsdt_gpa, "RSDT");
    size_t xsdt_count = (xsdt->length - sizeof(*xsdt)) / 8;
    size_t rsdt_count = (rsdt->length - sizeof(*rsdt)) / 4;
    assert_int_equal(xsdt_count, 3);
    assert_int_equal(rsdt_count, 3);
    const char *expected[3] = { "FACP", "APIC", "MCFG" };
    for (size_t i = 0; i < 3; i++) {
        uint64_t address64;
        uint32_t address32;
        memcpy(&address64, (const uint8_t *)xsdt + sizeof(*xsdt) + 8 * i, 8);
        memcpy(&address32, (const uint8_t *)rsdt + sizeof(*rsdt) + 4 * i, 4);
        assert_int_equal(address64, address32);
        check_table(address64, expected[i]);
    }
}

static void test_fadt(void **state)
{
    (void)state;
    struct acpi_tables_layout layout;
    build(1, &layout);
    const struct acpi_fadt *fadt = (const struct acpi_fadt *)check_table(layout.fadt_gpa, "FACP");
    assert_int_equal(fadt->header.revision, 6);
    assert_int_equal(fadt->header.length, 276);
    assert_int_equal(fadt->dsdt, layout.dsdt_gpa);
    assert_int_equal(fadt->x_dsdt, layout.dsdt_gpa);
    assert_int_equal(fadt->firmware_ctrl, layout.facs_gpa);
    assert_int_equal(fadt->sci_int, 9);
    assert_int_equal(fadt->smi_cmd, 0);
    assert_int_equal(fadt->pm1a_evt_blk, LAYOUT_ACPI_PM1A_EVENT_PORT);
    assert_int_equal(fadt->pm1_evt_len, 4);
    assert_int_equal(fadt->pm1a_cnt_blk, LAYOUT_ACPI_PM1A_CONTROL_PORT);
    assert_int_equal(fadt->pm1_cnt_len, 2);
    assert_int_equal(fadt->pm1b_evt_blk, 0);
    assert_int_equal(fadt->pm1b_cnt_blk, 0);
    assert_int_equal(fadt->pm_tmr_blk, 0);
    assert_int_equal(fadt->pm_tmr_len, 0);
    assert_int_equal(fadt->iapc_boot_arch, ACPI_IAPC_BOOT_ARCH_8042 | ACPI_IAPC_BOOT_ARCH_VGA_NOT_PRESENT);
    assert_int_equal(fadt->x_pm1a_evt_blk.address, LAYOUT_ACPI_PM1A_EVENT_PORT);
    assert_int_equal(fadt->x_pm1a_evt_blk.register_bit_width, 32);
    assert_int_equal(fadt->x_pm1a_cnt_blk.address, LAYOUT_ACPI_PM1A_CONTROL_PORT);
    assert_int_equal(fadt->x_pm1a_cnt_blk.register_bit_width, 16);
    assert_int_equal(fadt->x_pm_tmr_blk.address, 0);
    /* Not hardware-reduced: the PM1 blocks are real. */
    assert_int_equal(fadt->flags & (1u << 20), 0);

    const struct acpi_facs *facs = (const struct acpi_facs *)table_at(layout.facs_gpa);
    assert_int_equal(layout.facs_gpa % 64, 0);
    assert_memory_equal(facs->signature, "FACS", 4);
    assert_int_equal(facs->length, 64);
}

/* MADT walk: counts each structure type and checks the fields kestrel's platform depends on. */
static void check_madt(unsigned cpu_count)
{
    struct acpi_tables_layout layout;
    build(cpu_count, &layout);
    const struct acpi_madt *madt = (const struct acpi_madt *)check_table(layout.madt_gpa, "APIC");
    assert_int_equal(madt->local_apic_address, LAYOUT_LAPIC_GPA);
    assert_int_equal(madt->flags, ACPI_MADT_FLAG_PCAT_COMPAT);

    const uint8_t *bytes = (const uint8_t *)madt;
    size_t offset = sizeof(*madt);
    unsigned local_apics = 0, io_apics = 0, overrides = 0, nmis = 0;
    while (offset < madt->header.length) {
        assert_true(madt->header.length - offset >= 2);
        uint8_t type = bytes[offset];
        uint8_t length = bytes[offset + 1];
        assert_true(length >= 2 && length <= madt->header.length - offset);
        if (type == ACPI_MADT_TYPE_LOCAL_APIC) {
            struct acpi_madt_local_apic entry;
            assert_int_equal(length, sizeof(entry));
            memcpy(&entry, bytes + offset, sizeof(entry));
            assert_int_equal(entry.apic_id, local_apics);
            assert_int_equal(entry.processor_uid, local_apics);
            assert_int_equal(entry.flags, ACPI_MADT_LOCAL_APIC_ENABLED);
            local_apics++;
        } else if (type == ACPI_MADT_TYPE_IO_APIC) {
            struct acpi_madt_io_apic entry;
            assert_int_equal(length, sizeof(entry));
            memcpy(&entry, bytes + offset, sizeof(entry));
            assert_int_equal(entry.address, LAYOUT_IOAPIC_GPA);
            assert_int_equal(entry.global_irq_base, 0);
            io_apics++;
        } else if (type == ACPI_MADT_TYPE_INTERRUPT_OVERRIDE) {
            struct acpi_madt_interrupt_override entry;
            assert_int_equal(length, sizeof(entry));
            memcpy(&entry, bytes + offset, sizeof(entry));
            /* Only the SCI is overridden; IRQ 0 must keep its identity mapping to GSI 0. */
            assert_int_equal(entry.bus, 0);
            assert_int_equal(entry.source_irq, LAYOUT_ACPI_SCI_IRQ);
            assert_int_equal(entry.global_irq, LAYOUT_ACPI_SCI_IRQ);
            assert_int_equal(entry.flags, 0x000d); /* active high, level triggered */
            overrides++;
        } else if (type == ACPI_MADT_TYPE_LOCAL_APIC_NMI) {
            struct acpi_madt_local_apic_nmi entry;
            assert_int_equal(length, sizeof(entry));
            memcpy(&entry, bytes + offset, sizeof(entry));
            assert_int_equal(entry.processor_uid, 0xff);
            assert_int_equal(entry.lint, 1);
            nmis++;
        } else {
            fail_msg("unexpected MADT structure type %u", type);
        }
        offset += length;
    }
    assert_int_equal(offset, madt->header.length);
    assert_int_equal(local_apics, cpu_count);
    assert_int_equal(io_apics, 1);
    assert_int_equal(overrides, 1);
    assert_int_equal(nmis, 1);
}

static void test_madt_one_cpu(void **state)
{
    (void)state;
    check_madt(1);
}

static void test_madt_four_cpus(void **state)
{
    (void)state;
    check_madt(4);
}

static void test_madt_max_cpus(void **state)
{
    (void)state;
    check_madt(ACPI_MAX_CPUS);
}

static void test_bad_cpu_count(void **state)
{
    (void)state;
    struct acpi_tables_layout layout;
    struct error error;
    assert_int_equal(acpi_tables_build(region, sizeof(region), LAYOUT_ACPI_START, 0, TEST_MMIO64_START, &layout, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_int_equal(acpi_tables_build(region, sizeof(region), LAYOUT_ACPI_START, ACPI_MAX_CPUS + 1, TEST_MMIO64_START, &layout, &error),
                     -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_USAGE);
    assert_non_null(strstr(error.message, "255 CPUs"));
}

static void test_region_too_small(void **state)
{
    (void)state;
    struct acpi_tables_layout layout;
    struct error error;
    assert_int_equal(acpi_tables_build(region, 512, LAYOUT_ACPI_START, 1, TEST_MMIO64_START, &layout, &error), -1);
    assert_int_equal(error.exit_status, EXIT_STATUS_FAILURE);
}

/* --- a small AML decoder, independent of the encoder ---------------------- */

struct aml_object {
    char path[32];
    enum { AML_INTEGER, AML_STRING, AML_BUFFER, AML_PACKAGE } kind;
    uint64_t integer;
    char string[32];
    uint8_t buffer[192];
    size_t buffer_length;
    uint64_t package[8];
    unsigned package_count;
};

struct aml_decoder {
    const uint8_t *bytes;
    size_t length;
    struct aml_object objects[16];
    unsigned object_count;
};

static size_t decode_pkglength(const uint8_t *bytes, size_t available, size_t *value)
{
    assert_true(available >= 1);
    size_t follow = bytes[0] >> 6;
    if (follow == 0) {
        *value = bytes[0] & 0x3f;
        return 1;
    }
    assert_int_equal(bytes[0] & 0x30, 0); /* bits 4-5 are reserved in multi-byte form */
    assert_true(available >= 1 + follow);
    size_t result = bytes[0] & 0x0f;
    for (size_t i = 0; i < follow; i++)
        result |= (size_t)bytes[1 + i] << (4 + 8 * i);
    *value = result;
    return 1 + follow;
}

/* NameString: optional root char, then one NameSeg or a DualNamePath. */
static size_t decode_name(const uint8_t *bytes, size_t available, char *out, size_t out_size)
{
    size_t used = 0;
    out[0] = 0;
    if (available > 0 && bytes[0] == '\\') {
        strncat(out, "\\", out_size - strlen(out) - 1);
        used++;
    }
    unsigned segments = 1;
    if (used < available && bytes[used] == 0x2e) {
        segments = 2;
        used++;
    }
    for (unsigned i = 0; i < segments; i++) {
        assert_true(available - used >= 4);
        for (size_t c = 0; c < 4; c++) {
            uint8_t ch = bytes[used + c];
            assert_true((ch >= 'A' && ch <= 'Z') || ch == '_' || (c > 0 && ch >= '0' && ch <= '9'));
        }
        if (i > 0)
            strncat(out, ".", out_size - strlen(out) - 1);
        strncat(out, (const char *)bytes + used, 4 < out_size - strlen(out) - 1 ? 4 : out_size - strlen(out) - 1);
        used += 4;
    }
    return used;
}

static size_t decode_integer(const uint8_t *bytes, size_t available, uint64_t *value)
{
    assert_true(available >= 1);
    size_t width = 0;
    switch (bytes[0]) {
    case 0x00: *value = 0; return 1;
    case 0x01: *value = 1; return 1;
    case 0xff: *value = UINT64_MAX; return 1;
    case 0x0a: width = 1; break;
    case 0x0b: width = 2; break;
    case 0x0c: width = 4; break;
    case 0x0e: width = 8; break;
    default: fail_msg("not an integer opcode: 0x%02x", bytes[0]);
    }
    assert_true(available >= 1 + width);
    *value = 0;
    for (size_t i = 0; i < width; i++)
        *value |= (uint64_t)bytes[1 + i] << (8 * i);
    return 1 + width;
}

static size_t decode_data_object(const uint8_t *bytes, size_t available, struct aml_object *object)
{
    assert_true(available >= 1);
    if (bytes[0] == 0x0d) {
        object->kind = AML_STRING;
        const uint8_t *end = memchr(bytes + 1, 0, available - 1);
        assert_non_null(end);
        size_t length = (size_t)(end - (bytes + 1));
        assert_true(length < sizeof(object->string));
        memcpy(object->string, bytes + 1, length + 1);
        return length + 2;
    }
    if (bytes[0] == 0x11 || bytes[0] == 0x12) {
        size_t package_length;
        size_t used = decode_pkglength(bytes + 1, available - 1, &package_length);
        assert_true(package_length >= used && package_length <= available - 1);
        const uint8_t *body = bytes + 1 + used;
        size_t body_length = package_length - used;
        if (bytes[0] == 0x11) {
            object->kind = AML_BUFFER;
            uint64_t size;
            size_t size_bytes = decode_integer(body, body_length, &size);
            assert_int_equal(size, body_length - size_bytes);
            assert_true(size <= sizeof(object->buffer));
            memcpy(object->buffer, body + size_bytes, size);
            object->buffer_length = size;
        } else {
            object->kind = AML_PACKAGE;
            assert_true(body_length >= 1);
            object->package_count = body[0];
            assert_true(object->package_count <= 8);
            size_t position = 1;
            for (unsigned i = 0; i < object->package_count; i++)
                position += decode_integer(body + position, body_length - position, &object->package[i]);
            assert_int_equal(position, body_length);
        }
        return 1 + package_length;
    }
    object->kind = AML_INTEGER;
    return decode_integer(bytes, available, &object->integer);
}

static void decode_term_list(struct aml_decoder *decoder, const uint8_t *bytes, size_t length, const char *scope)
{
    size_t position = 0;
    while (position < length) {
        const uint8_t *op = bytes + position;
        size_t available = length - position;
        char name[24];
        if (op[0] == 0x08) { /* NameOp */
            size_t used = 1 + decode_name(op + 1, available - 1, name, sizeof(name));
            assert_true(decoder->object_count < 16);
            struct aml_object *object = &decoder->objects[decoder->object_count++];
            memset(object, 0, sizeof(*object));
            snprintf(object->path, sizeof(object->path), "%s%s%s", scope, scope[0] && name[0] != '\\' ? "." : "",
                     name);
            used += decode_data_object(op + used, available - used, object);
            position += used;
        } else if (op[0] == 0x10 || (op[0] == 0x5b && available >= 2 && op[1] == 0x82)) { /* Scope, Device */
            size_t opcode_length = op[0] == 0x10 ? 1 : 2;
            size_t package_length;
            size_t used = decode_pkglength(op + opcode_length, available - opcode_length, &package_length);
            assert_true(package_length >= used && package_length <= available - opcode_length);
            size_t name_length = decode_name(op + opcode_length + used, package_length - used, name, sizeof(name));
            char inner[32];
            snprintf(inner, sizeof(inner), "%s%s%s", scope, scope[0] && name[0] != '\\' ? "." : "", name);
            decode_term_list(decoder, op + opcode_length + used + name_length, package_length - used - name_length,
                             inner);
            position += opcode_length + package_length;
        } else {
            fail_msg("unexpected AML opcode 0x%02x at %zu", op[0], position);
        }
    }
    assert_int_equal(position, length);
}

static const struct aml_object *find_object(const struct aml_decoder *decoder, const char *path)
{
    for (unsigned i = 0; i < decoder->object_count; i++) {
        if (strcmp(decoder->objects[i].path, path) == 0)
            return &decoder->objects[i];
    }
    fail_msg("no AML object %s", path);
    return NULL;
}

static void test_dsdt_aml(void **state)
{
    (void)state;
    struct acpi_tables_layout layout;
    build(2, &layout);
    const struct acpi_table_header *dsdt = check_table(layout.dsdt_gpa, "DSDT");
    assert_int_equal(dsdt->revision, 2);

    struct aml_decoder decoder = { 0 };
    decode_term_list(&decoder, (const uint8_t *)dsdt + sizeof(*dsdt), dsdt->length - sizeof(*dsdt), "");
    assert_int_equal(decoder.object_count, 13);

    const struct aml_object *s5 = find_object(&decoder, "\\_S5_");
    assert_int_equal(s5->kind, AML_PACKAGE);
    assert_int_equal(s5->package_count, 4);
    assert_int_equal(s5->package[0], LAYOUT_ACPI_S5_SLEEP_TYPE);
    assert_int_equal(s5->package[1], 0);

    const struct aml_object *hid = find_object(&decoder, "\\_SB_.PEVT._HID");
    assert_int_equal(hid->kind, AML_STRING);
    assert_string_equal(hid->string, "QEMU0001");

    const struct aml_object *sta = find_object(&decoder, "\\_SB_.PEVT._STA");
    assert_int_equal(sta->kind, AML_INTEGER);
    assert_int_equal(sta->integer, 0x0f);

    const struct aml_object *crs = find_object(&decoder, "\\_SB_.PEVT._CRS");
    assert_int_equal(crs->kind, AML_BUFFER);
    const uint8_t expected_crs[] = { 0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01, 0x79, 0x00 };
    assert_int_equal(crs->buffer_length, sizeof(expected_crs));
    assert_memory_equal(crs->buffer, expected_crs, sizeof(expected_crs));
}

static uint64_t read_le(const uint8_t *bytes, unsigned width)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < width; i++)
        value |= (uint64_t)bytes[i] << (8 * i);
    return value;
}

/* Finds the address space descriptor of `space` number `index` (0-based) in a _CRS buffer. */
static const uint8_t *find_address_descriptor(const struct aml_object *crs, uint8_t item, uint8_t space,
                                              unsigned index)
{
    size_t position = 0;
    while (position < crs->buffer_length) {
        const uint8_t *descriptor = crs->buffer + position;
        if (descriptor[0] == 0x79)
            break;
        size_t length = descriptor[0] & 0x80 ? 3 + (size_t)read_le(descriptor + 1, 2) : 1 + (size_t)(descriptor[0] & 0x07);
        assert_true(position + length <= crs->buffer_length);
        if (descriptor[0] == item && descriptor[3] == space && index-- == 0)
            return descriptor;
        position += length;
    }
    fail_msg("no descriptor 0x%02x for space %u", item, space);
    return NULL;
}

static void test_dsdt_pci_root_bridge(void **state)
{
    (void)state;
    struct acpi_tables_layout layout;
    build(1, &layout);
    const struct acpi_table_header *dsdt = check_table(layout.dsdt_gpa, "DSDT");
    struct aml_decoder decoder = { 0 };
    decode_term_list(&decoder, (const uint8_t *)dsdt + sizeof(*dsdt), dsdt->length - sizeof(*dsdt), "");

    assert_int_equal(find_object(&decoder, "\\_SB_.PCI0._HID")->integer, 0x080ad041); /* EisaId("PNP0A08") */
    assert_int_equal(find_object(&decoder, "\\_SB_.PCI0._CID")->integer, 0x030ad041); /* EisaId("PNP0A03") */
    assert_int_equal(acpi_eisa_id("PNP0C02"), 0x020cd041);
    assert_int_equal(find_object(&decoder, "\\_SB_.PCI0._SEG")->integer, 0);
    assert_int_equal(find_object(&decoder, "\\_SB_.PCI0._BBN")->integer, 0);
    const struct aml_object *crs = find_object(&decoder, "\\_SB_.PCI0._CRS");
    assert_int_equal(crs->kind, AML_BUFFER);

    const uint8_t *bus = find_address_descriptor(crs, 0x88, 2, 0);
    assert_int_equal(read_le(bus + 8, 2), 0);                          /* minimum bus */
    assert_int_equal(read_le(bus + 10, 2), LAYOUT_PCI_ECAM_LAST_BUS);  /* maximum bus */
    const uint8_t *io_low = find_address_descriptor(crs, 0x88, 1, 0);
    assert_int_equal(read_le(io_low + 10, 2), 0x0cf7);
    const uint8_t *io_high = find_address_descriptor(crs, 0x88, 1, 1);
    assert_int_equal(read_le(io_high + 8, 2), 0x0d00);
    assert_int_equal(read_le(io_high + 10, 2), 0xffff);
    const uint8_t *mmio32 = find_address_descriptor(crs, 0x87, 0, 0);
    assert_int_equal(read_le(mmio32 + 10, 4), LAYOUT_PCI_MMIO32_START);
    assert_int_equal(read_le(mmio32 + 14, 4), LAYOUT_PCI_MMIO32_START + LAYOUT_PCI_MMIO32_SIZE - 1);
    assert_int_equal(read_le(mmio32 + 22, 4), LAYOUT_PCI_MMIO32_SIZE);
    /* The 32-bit window ends where the ECAM starts and stays clear of the IOAPIC. */
    assert_true(LAYOUT_PCI_MMIO32_START + LAYOUT_PCI_MMIO32_SIZE <= LAYOUT_PCI_ECAM_START);
    assert_true(LAYOUT_PCI_ECAM_START + LAYOUT_PCI_ECAM_SIZE <= LAYOUT_IOAPIC_GPA);
    const uint8_t *mmio64 = find_address_descriptor(crs, 0x8a, 0, 0);
    assert_int_equal(read_le(mmio64 + 14, 8), TEST_MMIO64_START);
    assert_int_equal(read_le(mmio64 + 22, 8), TEST_MMIO64_START + LAYOUT_PCI_MMIO64_SIZE - 1);
    assert_int_equal(read_le(mmio64 + 38, 8), LAYOUT_PCI_MMIO64_SIZE);

    assert_int_equal(find_object(&decoder, "\\_SB_.MRES._HID")->integer, 0x020cd041);
    const struct aml_object *reserved = find_object(&decoder, "\\_SB_.MRES._CRS");
    assert_int_equal(reserved->buffer[0], 0x86); /* Memory32Fixed */
    assert_int_equal(read_le(reserved->buffer + 4, 4), LAYOUT_PCI_ECAM_START);
    assert_int_equal(read_le(reserved->buffer + 8, 4), LAYOUT_PCI_ECAM_SIZE);
}

static void test_mcfg(void **state)
{
    (void)state;
    struct acpi_tables_layout layout;
    build(1, &layout);
    const struct acpi_table_header *mcfg = check_table(layout.mcfg_gpa, "MCFG");
    assert_int_equal(mcfg->length, sizeof(*mcfg) + 8 + 16);
    struct acpi_mcfg_allocation allocation;
    memcpy(&allocation, (const uint8_t *)mcfg + sizeof(*mcfg) + 8, sizeof(allocation));
    assert_int_equal(allocation.base, LAYOUT_PCI_ECAM_START);
    assert_int_equal(allocation.segment, 0);
    assert_int_equal(allocation.start_bus, 0);
    assert_int_equal(allocation.end_bus, LAYOUT_PCI_ECAM_LAST_BUS);
    /* One bus of ECAM is 32 devices x 8 functions x 4 KiB. */
    assert_int_equal(LAYOUT_PCI_ECAM_SIZE, (LAYOUT_PCI_ECAM_LAST_BUS + 1) * 32 * 8 * 4096);
}

static void test_mmio64_window_follows_ram(void **state)
{
    (void)state;
    assert_int_equal(layout_pci_mmio64_start(512ull << 20), 0x100000000ull);
    assert_int_equal(layout_pci_mmio64_start(0x100000000ull), 0x100000000ull);
    assert_int_equal(layout_pci_mmio64_start(0x100000001ull), 0x140000000ull);
    assert_int_equal(layout_pci_mmio64_start(0x140000000ull), 0x140000000ull);
}

static void test_pkglength_encoding(void **state)
{
    (void)state;
    /* Boundaries of the 1-, 2-, 3- and 4-byte forms (the value includes the PkgLength bytes). */
    const size_t lengths[] = { 0, 1, 61, 62, 63, 64, 200, 4093, 4094, 4095, 1048572, 1048573, 1048576, 0x0ffffff0 };
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        uint8_t bytes[8];
        struct aml_buffer buffer;
        aml_buffer_init(&buffer, bytes, sizeof(bytes));
        size_t written = aml_append_pkglength(&buffer, lengths[i]);
        assert_false(buffer.overflow);
        assert_int_equal(written, buffer.length);
        size_t decoded;
        assert_int_equal(decode_pkglength(bytes, buffer.length, &decoded), written);
        assert_int_equal(decoded, lengths[i] + written);
    }
    assert_int_equal(aml_append_pkglength(&(struct aml_buffer){ .bytes = (uint8_t[8]){ 0 }, .capacity = 8 }, 62), 1);
    assert_int_equal(aml_append_pkglength(&(struct aml_buffer){ .bytes = (uint8_t[8]){ 0 }, .capacity = 8 }, 63), 2);
    struct aml_buffer too_long = { .bytes = (uint8_t[8]){ 0 }, .capacity = 8 };
    assert_int_equal(aml_append_pkglength(&too_long, 1u << 28), 0);
    assert_true(too_long.overflow);
}

static void test_aml_integers_and_overflow(void **state)
{
    (void)state;
    uint8_t bytes[64];
    struct aml_buffer buffer;
    aml_buffer_init(&buffer, bytes, sizeof(bytes));
    const uint64_t values[] = { 0, 1, 2, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000ull };
    const size_t sizes[] = { 1, 1, 2, 2, 3, 3, 5, 5, 9 };
    for (size_t i = 0; i < 9; i++) {
        size_t before = buffer.length;
        aml_append_integer(&buffer, values[i]);
        assert_int_equal(buffer.length - before, sizes[i]);
        uint64_t decoded;
        assert_int_equal(decode_integer(bytes + before, buffer.length - before, &decoded), sizes[i]);
        assert_int_equal(decoded, values[i]);
    }
    struct aml_buffer small;
    aml_buffer_init(&small, bytes, 3);
    aml_append_string(&small, "QEMU0001");
    assert_true(small.overflow);
    assert_int_equal(acpi_dsdt_body_build(bytes, 20, TEST_MMIO64_START), 0);
}

/*
 * iasl (acpica-tools) is a test-only check; the runtime never needs it.
 * scripts/install-deps.sh installs it, so its absence is a failure, not a note.
 */
static void test_iasl_disassembles_tables(void **state)
{
    (void)state;
    if (system("command -v iasl >/dev/null 2>&1") != 0)
        fail_msg("iasl is not installed: apt-get install acpica-tools (scripts/install-deps.sh does)");
    struct acpi_tables_layout layout;
    build(4, &layout);
    char directory[] = "/tmp/kestrel-acpi-XXXXXX";
    assert_non_null(mkdtemp(directory));
    const struct {
        const char *name;
        uint64_t gpa;
        const char *expect;
    } tables[] = {
        { "dsdt", layout.dsdt_gpa, "QEMU0001" },
        { "facp", layout.fadt_gpa, "PM1A Control Block Address : 00000604" },
        { "apic", layout.madt_gpa, "Local Apic Address : FEE00000" },
        { "xsdt", layout.xsdt_gpa, "ACPI Table Address   2 : 00000000000E" },
        { "mcfg", layout.mcfg_gpa, "Base Address : 00000000E0000000" },
    };
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        const struct acpi_table_header *header = (const struct acpi_table_header *)table_at(tables[i].gpa);
        char path[128];
        snprintf(path, sizeof(path), "%s/%s.dat", directory, tables[i].name);
        FILE *file = fopen(path, "wb");
        assert_non_null(file);
        assert_int_equal(fwrite(header, 1, header->length, file), header->length);
        fclose(file);
        char command[512];
        snprintf(command, sizeof(command), "cd %s && iasl -d %s.dat >%s.log 2>&1", directory, tables[i].name,
                 tables[i].name);
        assert_int_equal(system(command), 0);
        /* Disassembly must show the expected content and no checksum or length complaint. */
        snprintf(command, sizeof(command), "grep -q '%s' %s/%s.dsl", tables[i].expect, directory, tables[i].name);
        if (system(command) != 0)
            fail_msg("iasl output for %s lacks \"%s\"", tables[i].name, tables[i].expect);
        snprintf(command, sizeof(command), "grep -qiE 'incorrect|invalid|error' %s/%s.dsl", directory, tables[i].name);
        if (system(command) == 0)
            fail_msg("iasl complains about %s (see %s/%s.dsl)", tables[i].name, directory, tables[i].name);
    }
    char command[256];
    snprintf(command, sizeof(command), "grep -q '_S5_' %s/dsdt.dsl && grep -q 'IO (Decode16' %s/dsdt.dsl", directory,
             directory);
    assert_int_equal(system(command), 0);
    snprintf(command, sizeof(command),
             "grep -q 'EisaId (\"PNP0A08\")' %s/dsdt.dsl && grep -q 'WordBusNumber' %s/dsdt.dsl && "
             "grep -q 'QWordMemory' %s/dsdt.dsl && grep -q 'EisaId (\"PNP0C02\")' %s/dsdt.dsl",
             directory, directory, directory, directory);
    if (system(command) != 0)
        fail_msg("iasl's DSDT lacks the PCI root bridge (see %s/dsdt.dsl)", directory);
    snprintf(command, sizeof(command), "rm -rf %s", directory);
    assert_int_equal(system(command), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsdp),
        cmocka_unit_test(test_root_tables_list_fadt_and_madt),
        cmocka_unit_test(test_fadt),
        cmocka_unit_test(test_madt_one_cpu),
        cmocka_unit_test(test_madt_four_cpus),
        cmocka_unit_test(test_madt_max_cpus),
        cmocka_unit_test(test_bad_cpu_count),
        cmocka_unit_test(test_region_too_small),
        cmocka_unit_test(test_dsdt_aml),
        cmocka_unit_test(test_dsdt_pci_root_bridge),
        cmocka_unit_test(test_mcfg),
        cmocka_unit_test(test_mmio64_window_follows_ram),
        cmocka_unit_test(test_pkglength_encoding),
        cmocka_unit_test(test_aml_integers_and_overflow),
        cmocka_unit_test(test_iasl_disassembles_tables),
    };
    return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}

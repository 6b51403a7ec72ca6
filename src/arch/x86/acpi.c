#include "arch/x86/acpi.h"

#include <string.h>

#include "arch/x86/acpi_aml.h"
#include "arch/x86/acpi_pci.h"
#include "arch/x86/acpi_tables.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"

#define ACPI_OEM_ID       "KESTRL"
#define ACPI_OEM_TABLE_ID "KESTREL "
#define ACPI_CREATOR_ID   "KSTL"
/* Tables start on 64-byte boundaries: the FACS requires it, the others are tidier for it. */
#define ACPI_TABLE_ALIGNMENT 64u
/* Generic Address Structure address space for I/O ports. */
#define ACPI_ADDRESS_SPACE_SYSTEM_IO 1

_Static_assert(LAYOUT_ACPI_END <= 0x100000000ull, "ACPI tables must have 32-bit addresses for the RSDT and FADT");

uint8_t acpi_checksum(const uint8_t *bytes, size_t length)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < length; i++)
        sum = (uint8_t)(sum + bytes[i]);
    return sum;
}

/* Bump allocator over the host copy of the ACPI region. */
struct acpi_builder {
    uint8_t *region;
    size_t size;
    uint64_t region_gpa;
    size_t used;
};

static uint8_t *acpi_allocate(struct acpi_builder *builder, size_t length, uint64_t *gpa)
{
    size_t offset = (builder->used + ACPI_TABLE_ALIGNMENT - 1) & ~(size_t)(ACPI_TABLE_ALIGNMENT - 1);
    if (offset > builder->size || length > builder->size - offset)
        return NULL;
    builder->used = offset + length;
    *gpa = builder->region_gpa + offset;
    memset(builder->region + offset, 0, length);
    return builder->region + offset;
}

static void acpi_header_init(struct acpi_table_header *header, const char *signature, uint32_t length,
                             uint8_t revision)
{
    memcpy(header->signature, signature, 4);
    header->length = length;
    header->revision = revision;
    memcpy(header->oem_id, ACPI_OEM_ID, 6);
    memcpy(header->oem_table_id, ACPI_OEM_TABLE_ID, 8);
    header->oem_revision = 1;
    memcpy(header->creator_id, ACPI_CREATOR_ID, 4);
    header->creator_revision = 1;
}

/* Checksum goes last, once every byte of the table is final. */
static void acpi_header_seal(uint8_t *table)
{
    struct acpi_table_header *header = (struct acpi_table_header *)table;
    header->checksum = 0;
    header->checksum = (uint8_t)(0u - acpi_checksum(table, header->length));
}

size_t acpi_dsdt_body_build(uint8_t *out, size_t capacity, uint64_t pci_mmio64_start)
{
    struct aml_buffer dsdt;
    aml_buffer_init(&dsdt, out, capacity);

    /* \_S5: SLP_TYPa, SLP_TYPb and two reserved values; Linux installs acpi_power_off when it exists. */
    const uint64_t s5_values[4] = { LAYOUT_ACPI_S5_SLEEP_TYPE, 0, 0, 0 };
    uint8_t s5_bytes[32];
    struct aml_buffer s5;
    aml_buffer_init(&s5, s5_bytes, sizeof(s5_bytes));
    aml_append_integer_package(&s5, s5_values, 4);
    aml_append_bytes(&dsdt, &(uint8_t){ AML_NAME_OP }, 1);
    aml_append_bytes(&dsdt, &(uint8_t){ AML_ROOT_CHAR }, 1);
    aml_append_nameseg(&dsdt, "_S5_");
    aml_append_bytes(&dsdt, s5.bytes, s5.length);

    /* pvpanic: _HID QEMU0001 with one I/O port, which Linux's pvpanic driver binds to. */
    const uint8_t io_resources[] = {
        0x47, /* small item: I/O port descriptor, 7 bytes */
        0x01, /* decodes 16 address bits */
        (uint8_t)LAYOUT_PVPANIC_PORT, (uint8_t)(LAYOUT_PVPANIC_PORT >> 8), /* minimum base */
        (uint8_t)LAYOUT_PVPANIC_PORT, (uint8_t)(LAYOUT_PVPANIC_PORT >> 8), /* maximum base */
        0x01, /* alignment */
        0x01, /* length */
        0x79, /* small item: end tag */
        0x00, /* checksum 0: treated as valid */
    };
    uint8_t object_bytes[64];
    struct aml_buffer object;
    uint8_t device_body_bytes[128];
    struct aml_buffer device_body;
    aml_buffer_init(&device_body, device_body_bytes, sizeof(device_body_bytes));

    aml_buffer_init(&object, object_bytes, sizeof(object_bytes));
    aml_append_string(&object, "QEMU0001");
    aml_append_name(&device_body, "_HID", object.bytes, object.length);

    aml_buffer_init(&object, object_bytes, sizeof(object_bytes));
    aml_append_byte_buffer(&object, io_resources, sizeof(io_resources));
    aml_append_name(&device_body, "_CRS", object.bytes, object.length);

    aml_buffer_init(&object, object_bytes, sizeof(object_bytes));
    aml_append_integer(&object, 0x0f); /* present, enabled, shown, functioning */
    aml_append_name(&device_body, "_STA", object.bytes, object.length);

    uint8_t scope_body_bytes[640];
    struct aml_buffer scope_body;
    aml_buffer_init(&scope_body, scope_body_bytes, sizeof(scope_body_bytes));
    aml_append_device(&scope_body, "PEVT", device_body.bytes, device_body.length);
    acpi_pci_append_devices(&scope_body, pci_mmio64_start);
    aml_append_root_scope(&dsdt, "_SB_", scope_body.bytes, scope_body.length);

    if (s5.overflow || object.overflow || device_body.overflow || scope_body.overflow || dsdt.overflow)
        return 0;
    return dsdt.length;
}

static int acpi_build_dsdt(struct acpi_builder *builder, uint64_t pci_mmio64_start, uint64_t *gpa,
                           struct error *error)
{
    uint8_t body[1024];
    size_t body_length = acpi_dsdt_body_build(body, sizeof(body), pci_mmio64_start);
    if (body_length == 0)
        return error_set(error, EXIT_STATUS_FAILURE, "ACPI DSDT does not fit its build buffer");
    size_t length = sizeof(struct acpi_table_header) + body_length;
    uint8_t *table = acpi_allocate(builder, length, gpa);
    if (!table)
        return error_set(error, EXIT_STATUS_FAILURE, "ACPI tables do not fit the ACPI region");
    /* Revision 2: AML integers are 64 bits. */
    acpi_header_init((struct acpi_table_header *)table, "DSDT", (uint32_t)length, 2);
    memcpy(table + sizeof(struct acpi_table_header), body, body_length);
    acpi_header_seal(table);
    return 0;
}

static int acpi_build_mcfg(struct acpi_builder *builder, uint64_t *gpa, struct error *error)
{
    size_t length = sizeof(struct acpi_table_header) + ACPI_MCFG_BODY_SIZE;
    uint8_t *table = acpi_allocate(builder, length, gpa);
    if (!table)
        return error_set(error, EXIT_STATUS_FAILURE, "ACPI tables do not fit the ACPI region");
    acpi_header_init((struct acpi_table_header *)table, "MCFG", (uint32_t)length, 1);
    acpi_mcfg_body_build(table + sizeof(struct acpi_table_header));
    acpi_header_seal(table);
    return 0;
}

static int acpi_build_facs(struct acpi_builder *builder, uint64_t *gpa, struct error *error)
{
    struct acpi_facs *facs = (struct acpi_facs *)acpi_allocate(builder, sizeof(*facs), gpa);
    if (!facs)
        return error_set(error, EXIT_STATUS_FAILURE, "ACPI tables do not fit the ACPI region");
    memcpy(facs->signature, "FACS", 4);
    facs->length = sizeof(*facs);
    facs->version = 2;
    return 0;
}

static int acpi_build_fadt(struct acpi_builder *builder, uint64_t dsdt_gpa, uint64_t facs_gpa, uint64_t *gpa,
                           struct error *error)
{
    struct acpi_fadt *fadt = (struct acpi_fadt *)acpi_allocate(builder, sizeof(*fadt), gpa);
    if (!fadt)
        return error_set(error, EXIT_STATUS_FAILURE, "ACPI tables do not fit the ACPI region");
    acpi_header_init(&fadt->header, "FACP", sizeof(*fadt), 6);
    fadt->firmware_ctrl = (uint32_t)facs_gpa;
    fadt->dsdt = (uint32_t)dsdt_gpa;
    fadt->x_dsdt = dsdt_gpa;
    fadt->sci_int = LAYOUT_ACPI_SCI_IRQ;
    /* SMI_CMD 0: the platform is always in ACPI mode, there is nothing to switch. */
    fadt->smi_cmd = 0;
    fadt->pm1a_evt_blk = LAYOUT_ACPI_PM1A_EVENT_PORT;
    fadt->pm1_evt_len = LAYOUT_ACPI_PM1A_EVENT_LEN;
    fadt->pm1a_cnt_blk = LAYOUT_ACPI_PM1A_CONTROL_PORT;
    fadt->pm1_cnt_len = LAYOUT_ACPI_PM1A_CONTROL_LEN;
    /* No PM timer: PM_TMR_BLK and PM_TMR_LEN stay 0. No C2/C3 states. */
    fadt->p_lvl2_lat = 101;
    fadt->p_lvl3_lat = 1001;
    fadt->iapc_boot_arch = ACPI_IAPC_BOOT_ARCH_8042 | ACPI_IAPC_BOOT_ARCH_VGA_NOT_PRESENT;
    /* A fixed-feature power button (PWR_BUTTON clear): the API's Stop presses it (acpi_pm.h). */
    fadt->flags = ACPI_FADT_FLAG_WBINVD | ACPI_FADT_FLAG_PROC_C1 | ACPI_FADT_FLAG_SLP_BUTTON;
    fadt->fadt_minor_version = 0;
    /* The 64-bit PM1 block fields describe the same ports, so ACPICA sees no conflict. */
    fadt->x_pm1a_evt_blk = (struct acpi_generic_address){
        .address_space_id = ACPI_ADDRESS_SPACE_SYSTEM_IO,
        .register_bit_width = LAYOUT_ACPI_PM1A_EVENT_LEN * 8,
        .address = LAYOUT_ACPI_PM1A_EVENT_PORT,
    };
    fadt->x_pm1a_cnt_blk = (struct acpi_generic_address){
        .address_space_id = ACPI_ADDRESS_SPACE_SYSTEM_IO,
        .register_bit_width = LAYOUT_ACPI_PM1A_CONTROL_LEN * 8,
        .address = LAYOUT_ACPI_PM1A_CONTROL_PORT,
    };
    memcpy(fadt->hypervisor_vendor_id, "KESTREL ", 8);
    acpi_header_seal((uint8_t *)fadt);
    return 0;
}

static int acpi_build_madt(struct acpi_builder *builder, unsigned cpu_count, uint64_t *gpa, struct error *error)
{
    size_t length = sizeof(struct acpi_madt) + cpu_count * sizeof(struct acpi_madt_local_apic) +
                    sizeof(struct acpi_madt_io_apic) + sizeof(struct acpi_madt_interrupt_override) +
                    sizeof(struct acpi_madt_local_apic_nmi);
    uint8_t *table = acpi_allocate(builder, length, gpa);
    if (!table)
        return error_set(error, EXIT_STATUS_FAILURE, "ACPI tables do not fit the ACPI region");
    struct acpi_madt *madt = (struct acpi_madt *)table;
    acpi_header_init(&madt->header, "APIC", (uint32_t)length, 5);
    madt->local_apic_address = (uint32_t)LAYOUT_LAPIC_GPA;
    /* The VMM has a legacy PIC pair, which Linux must mask when it switches to the APICs. */
    madt->flags = ACPI_MADT_FLAG_PCAT_COMPAT;

    size_t offset = sizeof(*madt);
    for (unsigned cpu = 0; cpu < cpu_count; cpu++) {
        struct acpi_madt_local_apic entry = {
            .type = ACPI_MADT_TYPE_LOCAL_APIC,
            .length = sizeof(entry),
            .processor_uid = (uint8_t)cpu,
            .apic_id = (uint8_t)cpu, /* KVM gives vCPU n the APIC id n */
            .flags = ACPI_MADT_LOCAL_APIC_ENABLED,
        };
        memcpy(table + offset, &entry, sizeof(entry));
        offset += sizeof(entry);
    }
    struct acpi_madt_io_apic io_apic = {
        .type = ACPI_MADT_TYPE_IO_APIC,
        .length = sizeof(io_apic),
        .io_apic_id = 0, /* KVM's in-kernel IOAPIC resets its id register to 0 */
        .address = (uint32_t)LAYOUT_IOAPIC_GPA,
        .global_irq_base = 0,
    };
    memcpy(table + offset, &io_apic, sizeof(io_apic));
    offset += sizeof(io_apic);
    /*
     * The SCI is level triggered, active high (ACPI's default for ISA IRQs is
     * edge). IRQ 0 has no override: KVM routes GSI 0 to IOAPIC pin 0, not 2.
     */
    struct acpi_madt_interrupt_override sci = {
        .type = ACPI_MADT_TYPE_INTERRUPT_OVERRIDE,
        .length = sizeof(sci),
        .bus = 0,
        .source_irq = LAYOUT_ACPI_SCI_IRQ,
        .global_irq = LAYOUT_ACPI_SCI_IRQ,
        .flags = ACPI_MPS_INTI_ACTIVE_HIGH | ACPI_MPS_INTI_LEVEL,
    };
    memcpy(table + offset, &sci, sizeof(sci));
    offset += sizeof(sci);
    struct acpi_madt_local_apic_nmi nmi = {
        .type = ACPI_MADT_TYPE_LOCAL_APIC_NMI,
        .length = sizeof(nmi),
        .processor_uid = 0xff,
        .flags = 0,
        .lint = 1,
    };
    memcpy(table + offset, &nmi, sizeof(nmi));
    offset += sizeof(nmi);

    acpi_header_seal(table);
    return 0;
}

int acpi_tables_build(uint8_t *region, size_t region_size, uint64_t region_gpa, unsigned cpu_count,
                      uint64_t pci_mmio64_start, struct acpi_tables_layout *layout, struct error *error)
{
    if (cpu_count == 0 || cpu_count > ACPI_MAX_CPUS)
        return error_set(error, EXIT_STATUS_USAGE, "cannot describe %u CPUs: the count must be 1 to %d",
                         cpu_count, ACPI_MAX_CPUS);
    if (region_gpa + region_size > 0x100000000ull || region_gpa + region_size < region_gpa)
        return error_set(error, EXIT_STATUS_FAILURE, "ACPI region must lie below 4 GiB");
    struct acpi_builder builder = { .region = region, .size = region_size, .region_gpa = region_gpa };
    memset(layout, 0, sizeof(*layout));

    struct acpi_rsdp *rsdp = (struct acpi_rsdp *)acpi_allocate(&builder, sizeof(*rsdp), &layout->rsdp_gpa);
    if (!rsdp)
        return error_set(error, EXIT_STATUS_FAILURE, "ACPI region too small for the RSDP");

    enum { SYSTEM_TABLE_COUNT = 3 }; /* FADT, MADT, MCFG */
    size_t xsdt_length = sizeof(struct acpi_table_header) + SYSTEM_TABLE_COUNT * sizeof(uint64_t);
    size_t rsdt_length = sizeof(struct acpi_table_header) + SYSTEM_TABLE_COUNT * sizeof(uint32_t);
    uint8_t *xsdt = acpi_allocate(&builder, xsdt_length, &layout->xsdt_gpa);
    uint8_t *rsdt = xsdt ? acpi_allocate(&builder, rsdt_length, &layout->rsdt_gpa) : NULL;
    if (!rsdt)
        return error_set(error, EXIT_STATUS_FAILURE, "ACPI tables do not fit the ACPI region");

    if (acpi_build_dsdt(&builder, pci_mmio64_start, &layout->dsdt_gpa, error) < 0 ||
        acpi_build_facs(&builder, &layout->facs_gpa, error) < 0 ||
        acpi_build_fadt(&builder, layout->dsdt_gpa, layout->facs_gpa, &layout->fadt_gpa, error) < 0 ||
        acpi_build_madt(&builder, cpu_count, &layout->madt_gpa, error) < 0 ||
        acpi_build_mcfg(&builder, &layout->mcfg_gpa, error) < 0)
        return -1;

    const uint64_t tables[SYSTEM_TABLE_COUNT] = { layout->fadt_gpa, layout->madt_gpa, layout->mcfg_gpa };
    acpi_header_init((struct acpi_table_header *)xsdt, "XSDT", (uint32_t)xsdt_length, 1);
    acpi_header_init((struct acpi_table_header *)rsdt, "RSDT", (uint32_t)rsdt_length, 1);
    for (size_t i = 0; i < SYSTEM_TABLE_COUNT; i++) {
        uint32_t address32 = (uint32_t)tables[i];
        memcpy(xsdt + sizeof(struct acpi_table_header) + i * sizeof(uint64_t), &tables[i], sizeof(uint64_t));
        memcpy(rsdt + sizeof(struct acpi_table_header) + i * sizeof(uint32_t), &address32, sizeof(uint32_t));
    }
    acpi_header_seal(xsdt);
    acpi_header_seal(rsdt);

    memcpy(rsdp->signature, "RSD PTR ", 8);
    memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
    rsdp->revision = 2;
    rsdp->rsdt_address = (uint32_t)layout->rsdt_gpa;
    rsdp->length = sizeof(*rsdp);
    rsdp->xsdt_address = layout->xsdt_gpa;
    rsdp->checksum = (uint8_t)(0u - acpi_checksum((const uint8_t *)rsdp, 20));
    rsdp->extended_checksum = (uint8_t)(0u - acpi_checksum((const uint8_t *)rsdp, sizeof(*rsdp)));

    layout->used_bytes = builder.used;
    return 0;
}

int acpi_tables_write(const struct guest_memory *memory, unsigned cpu_count, struct acpi_tables_layout *layout,
                      struct error *error)
{
    const uint64_t region_size = LAYOUT_ACPI_END - LAYOUT_ACPI_START;
    uint8_t *host = gpa_to_hva(memory, LAYOUT_ACPI_START, region_size);
    if (!host)
        return error_set(error, EXIT_STATUS_USAGE, "guest memory has no RAM at the ACPI area 0x%llx-0x%llx",
                         (unsigned long long)LAYOUT_ACPI_START, (unsigned long long)LAYOUT_ACPI_END);
    memset(host, 0, region_size);
    return acpi_tables_build(host, region_size, LAYOUT_ACPI_START, cpu_count,
                             layout_pci_mmio64_start(e820_ram_end(memory)), layout, error);
}

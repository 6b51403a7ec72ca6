#include "arch/x86/acpi_pci.h"

#include <string.h>

#include "arch/x86/layout.h"
#include "util/little_endian.h"

/* Large resource items of the _CRS buffers (ACPI 6.4, 6.4.3 "Large Resource Data Type"). */
enum {
    RESOURCE_WORD_ADDRESS = 0x88,
    RESOURCE_DWORD_ADDRESS = 0x87,
    RESOURCE_QWORD_ADDRESS = 0x8a,
    RESOURCE_MEMORY32_FIXED = 0x86,
    RESOURCE_IO = 0x47,
    RESOURCE_END_TAG = 0x79,
    ADDRESS_SPACE_MEMORY = 0,
    ADDRESS_SPACE_IO = 1,
    ADDRESS_SPACE_BUS = 2,
    /* General flags: producer (the bridge decodes it for its children), minimum and maximum fixed. */
    ADDRESS_FLAGS_PRODUCER_FIXED = 0x0c,
    MEMORY_FLAGS_READ_WRITE_UNCACHED = 0x01,
    IO_FLAGS_ENTIRE_RANGE = 0x03,
};


/*
 * Word/DWord/QWord address space descriptor: granularity, minimum, maximum,
 * translation offset and length, each `width` bytes.
 */
static void append_address(struct aml_buffer *buffer, uint8_t item, unsigned width, uint8_t space,
                           uint8_t type_flags, uint64_t minimum, uint64_t length)
{
    uint8_t bytes[3 + 3 + 5 * 8];
    size_t size = 3 + 3 + 5 * (size_t)width;
    memset(bytes, 0, sizeof(bytes));
    bytes[0] = item;
    little_endian_put(bytes + 1, size - 3, 2);
    bytes[3] = space;
    bytes[4] = ADDRESS_FLAGS_PRODUCER_FIXED;
    bytes[5] = type_flags;
    little_endian_put(bytes + 6 + 1 * width, minimum, width);
    little_endian_put(bytes + 6 + 2 * width, minimum + length - 1, width);
    little_endian_put(bytes + 6 + 4 * width, length, width);
    aml_append_bytes(buffer, bytes, size);
}

static void append_end_tag(struct aml_buffer *buffer)
{
    const uint8_t end[] = { RESOURCE_END_TAG, 0x00 };
    aml_append_bytes(buffer, end, sizeof(end));
}

static void append_name_integer(struct aml_buffer *body, const char *name, uint64_t value)
{
    uint8_t object_bytes[9];
    struct aml_buffer object;
    aml_buffer_init(&object, object_bytes, sizeof(object_bytes));
    aml_append_integer(&object, value);
    if (object.overflow)
        body->overflow = true;
    aml_append_name(body, name, object.bytes, object.length);
}

static void append_name_resources(struct aml_buffer *body, const struct aml_buffer *resources)
{
    uint8_t object_bytes[256];
    struct aml_buffer object;
    aml_buffer_init(&object, object_bytes, sizeof(object_bytes));
    aml_append_byte_buffer(&object, resources->bytes, resources->length);
    if (object.overflow || resources->overflow)
        body->overflow = true;
    aml_append_name(body, "_CRS", object.bytes, object.length);
}

uint32_t acpi_eisa_id(const char *id)
{
    uint32_t value = (uint32_t)((id[0] - 0x40) & 0x1f) << 26 | (uint32_t)((id[1] - 0x40) & 0x1f) << 21 |
                     (uint32_t)((id[2] - 0x40) & 0x1f) << 16;
    for (unsigned i = 3; i < 7; i++) {
        char c = id[i];
        uint32_t digit = c >= 'A' ? (uint32_t)(c - 'A' + 10) : (uint32_t)(c - '0');
        value |= (digit & 0xf) << (4 * (6 - i));
    }
    /* AML stores the id big-endian inside a little-endian DWord. */
    return __builtin_bswap32(value);
}

static void append_root_bridge(struct aml_buffer *scope_body, uint64_t mmio64_start)
{
    uint8_t resource_bytes[192];
    struct aml_buffer resources;
    aml_buffer_init(&resources, resource_bytes, sizeof(resource_bytes));
    append_address(&resources, RESOURCE_WORD_ADDRESS, 2, ADDRESS_SPACE_BUS, 0, 0, LAYOUT_PCI_ECAM_LAST_BUS + 1);
    /* The configuration ports are the bridge's own (a consumer range, not a window). */
    const uint8_t config_ports[] = {
        RESOURCE_IO, 0x01, /* decodes 16 address bits */
        (uint8_t)LAYOUT_PCI_CONFIG_ADDRESS_PORT, (uint8_t)(LAYOUT_PCI_CONFIG_ADDRESS_PORT >> 8),
        (uint8_t)LAYOUT_PCI_CONFIG_ADDRESS_PORT, (uint8_t)(LAYOUT_PCI_CONFIG_ADDRESS_PORT >> 8),
        0x01, 0x08,
    };
    aml_append_bytes(&resources, config_ports, sizeof(config_ports));
    append_address(&resources, RESOURCE_WORD_ADDRESS, 2, ADDRESS_SPACE_IO, IO_FLAGS_ENTIRE_RANGE, 0,
                   LAYOUT_PCI_CONFIG_ADDRESS_PORT);
    append_address(&resources, RESOURCE_WORD_ADDRESS, 2, ADDRESS_SPACE_IO, IO_FLAGS_ENTIRE_RANGE, 0x0d00,
                   0x10000 - 0x0d00);
    append_address(&resources, RESOURCE_DWORD_ADDRESS, 4, ADDRESS_SPACE_MEMORY, MEMORY_FLAGS_READ_WRITE_UNCACHED,
                   LAYOUT_PCI_MMIO32_START, LAYOUT_PCI_MMIO32_SIZE);
    append_address(&resources, RESOURCE_QWORD_ADDRESS, 8, ADDRESS_SPACE_MEMORY, MEMORY_FLAGS_READ_WRITE_UNCACHED,
                   mmio64_start, LAYOUT_PCI_MMIO64_SIZE);
    append_end_tag(&resources);

    uint8_t body_bytes[320];
    struct aml_buffer body;
    aml_buffer_init(&body, body_bytes, sizeof(body_bytes));
    append_name_integer(&body, "_HID", acpi_eisa_id("PNP0A08"));
    append_name_integer(&body, "_CID", acpi_eisa_id("PNP0A03"));
    append_name_integer(&body, "_SEG", 0);
    append_name_integer(&body, "_BBN", 0);
    append_name_integer(&body, "_UID", 0);
    append_name_resources(&body, &resources);
    if (body.overflow)
        scope_body->overflow = true;
    aml_append_device(scope_body, "PCI0", body.bytes, body.length);
}

static void append_motherboard_resources(struct aml_buffer *scope_body)
{
    uint8_t resource_bytes[16];
    struct aml_buffer resources;
    aml_buffer_init(&resources, resource_bytes, sizeof(resource_bytes));
    uint8_t ecam[12] = { RESOURCE_MEMORY32_FIXED, 9, 0, 0x01 /* read-write */ };
    little_endian_put(ecam + 4, LAYOUT_PCI_ECAM_START, 4);
    little_endian_put(ecam + 8, LAYOUT_PCI_ECAM_SIZE, 4);
    aml_append_bytes(&resources, ecam, sizeof(ecam));
    append_end_tag(&resources);

    uint8_t body_bytes[64];
    struct aml_buffer body;
    aml_buffer_init(&body, body_bytes, sizeof(body_bytes));
    append_name_integer(&body, "_HID", acpi_eisa_id("PNP0C02"));
    append_name_integer(&body, "_UID", 1);
    append_name_resources(&body, &resources);
    if (body.overflow)
        scope_body->overflow = true;
    aml_append_device(scope_body, "MRES", body.bytes, body.length);
}

void acpi_pci_append_devices(struct aml_buffer *scope_body, uint64_t mmio64_start)
{
    append_root_bridge(scope_body, mmio64_start);
    append_motherboard_resources(scope_body);
}

void acpi_mcfg_body_build(uint8_t body[ACPI_MCFG_BODY_SIZE])
{
    memset(body, 0, ACPI_MCFG_BODY_SIZE);
    struct acpi_mcfg_allocation allocation = {
        .base = LAYOUT_PCI_ECAM_START,
        .segment = 0,
        .start_bus = 0,
        .end_bus = LAYOUT_PCI_ECAM_LAST_BUS,
    };
    memcpy(body + 8, &allocation, sizeof(allocation));
}

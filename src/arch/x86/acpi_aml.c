#include "arch/x86/acpi_aml.h"

#include <string.h>

void aml_buffer_init(struct aml_buffer *buffer, uint8_t *bytes, size_t capacity)
{
    buffer->bytes = bytes;
    buffer->capacity = capacity;
    buffer->length = 0;
    buffer->overflow = false;
}

void aml_append_bytes(struct aml_buffer *buffer, const void *bytes, size_t length)
{
    if (buffer->overflow || length > buffer->capacity - buffer->length) {
        buffer->overflow = true;
        return;
    }
    if (length)
        memcpy(buffer->bytes + buffer->length, bytes, length);
    buffer->length += length;
}

static void aml_append_byte(struct aml_buffer *buffer, uint8_t byte)
{
    aml_append_bytes(buffer, &byte, 1);
}

size_t aml_append_pkglength(struct aml_buffer *buffer, size_t content_length)
{
    /*
     * One byte holds lengths up to 63 in bits 0-5. Longer ones put the count
     * of following bytes in bits 6-7 of the lead byte, the low nibble in bits
     * 0-3, and the rest 8 bits per following byte. The value includes the
     * PkgLength bytes themselves, so the size is chosen with them counted.
     */
    if (content_length + 1 <= 0x3f) {
        aml_append_byte(buffer, (uint8_t)(content_length + 1));
        return 1;
    }
    for (size_t extra = 1; extra <= 3; extra++) {
        size_t total = content_length + 1 + extra;
        if (total < ((size_t)1 << (4 + 8 * extra))) {
            aml_append_byte(buffer, (uint8_t)((extra << 6) | (total & 0x0f)));
            for (size_t i = 0; i < extra; i++)
                aml_append_byte(buffer, (uint8_t)(total >> (4 + 8 * i)));
            return 1 + extra;
        }
    }
    buffer->overflow = true;
    return 0;
}

void aml_append_nameseg(struct aml_buffer *buffer, const char *name)
{
    char segment[4] = { '_', '_', '_', '_' };
    for (size_t i = 0; i < 4 && name[i]; i++)
        segment[i] = name[i];
    aml_append_bytes(buffer, segment, 4);
}

void aml_append_integer(struct aml_buffer *buffer, uint64_t value)
{
    uint8_t bytes[8];
    for (size_t i = 0; i < 8; i++)
        bytes[i] = (uint8_t)(value >> (8 * i));
    if (value == 0) {
        aml_append_byte(buffer, AML_ZERO_OP);
    } else if (value == 1) {
        aml_append_byte(buffer, AML_ONE_OP);
    } else if (value <= 0xff) {
        aml_append_byte(buffer, AML_BYTE_PREFIX);
        aml_append_bytes(buffer, bytes, 1);
    } else if (value <= 0xffff) {
        aml_append_byte(buffer, AML_WORD_PREFIX);
        aml_append_bytes(buffer, bytes, 2);
    } else if (value <= 0xffffffff) {
        aml_append_byte(buffer, AML_DWORD_PREFIX);
        aml_append_bytes(buffer, bytes, 4);
    } else {
        aml_append_byte(buffer, AML_QWORD_PREFIX);
        aml_append_bytes(buffer, bytes, 8);
    }
}

void aml_append_string(struct aml_buffer *buffer, const char *text)
{
    aml_append_byte(buffer, AML_STRING_PREFIX);
    aml_append_bytes(buffer, text, strlen(text) + 1);
}

void aml_append_name(struct aml_buffer *buffer, const char *name, const uint8_t *object, size_t object_length)
{
    aml_append_byte(buffer, AML_NAME_OP);
    aml_append_nameseg(buffer, name);
    aml_append_bytes(buffer, object, object_length);
}

void aml_append_integer_package(struct aml_buffer *buffer, const uint64_t *values, uint8_t count)
{
    uint8_t elements_bytes[8 * 9];
    struct aml_buffer elements;
    aml_buffer_init(&elements, elements_bytes, sizeof(elements_bytes));
    for (uint8_t i = 0; i < count; i++)
        aml_append_integer(&elements, values[i]);
    if (elements.overflow) {
        buffer->overflow = true;
        return;
    }
    aml_append_byte(buffer, AML_PACKAGE_OP);
    aml_append_pkglength(buffer, 1 + elements.length);
    aml_append_byte(buffer, count);
    aml_append_bytes(buffer, elements.bytes, elements.length);
}

void aml_append_byte_buffer(struct aml_buffer *buffer, const uint8_t *data, size_t length)
{
    uint8_t size_bytes[9];
    struct aml_buffer size;
    aml_buffer_init(&size, size_bytes, sizeof(size_bytes));
    aml_append_integer(&size, length);
    aml_append_byte(buffer, AML_BUFFER_OP);
    aml_append_pkglength(buffer, size.length + length);
    aml_append_bytes(buffer, size.bytes, size.length);
    aml_append_bytes(buffer, data, length);
}

void aml_append_root_scope(struct aml_buffer *buffer, const char *name, const uint8_t *body, size_t body_length)
{
    aml_append_byte(buffer, AML_SCOPE_OP);
    aml_append_pkglength(buffer, 1 + 4 + body_length);
    aml_append_byte(buffer, AML_ROOT_CHAR);
    aml_append_nameseg(buffer, name);
    aml_append_bytes(buffer, body, body_length);
}

void aml_append_device(struct aml_buffer *buffer, const char *name, const uint8_t *body, size_t body_length)
{
    aml_append_byte(buffer, AML_EXT_OP_PREFIX);
    aml_append_byte(buffer, AML_EXT_DEVICE_OP);
    aml_append_pkglength(buffer, 4 + body_length);
    aml_append_nameseg(buffer, name);
    aml_append_bytes(buffer, body, body_length);
}

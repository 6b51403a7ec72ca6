#ifndef KESTREL_ARCH_X86_ACPI_AML_H
#define KESTREL_ARCH_X86_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A small ACPI Machine Language encoder (ACPI 6.x, chapter 20 "ACPI Machine
 * Language Specification"), enough for the DSDT kestrel hands the guest.
 *
 * Writes into a caller-owned fixed buffer; running out of room sets
 * `overflow` and later appends do nothing, so the caller checks once at the end.
 */
struct aml_buffer {
    uint8_t *bytes;
    size_t capacity;
    size_t length;
    bool overflow;
};

void aml_buffer_init(struct aml_buffer *buffer, uint8_t *bytes, size_t capacity);
void aml_append_bytes(struct aml_buffer *buffer, const void *bytes, size_t length);

/*
 * PkgLength for `content_length` bytes that follow it: the encoded value
 * counts its own bytes too. Returns the number of bytes written (1..4), 0 if
 * the length cannot be encoded (above 2^28 - 1).
 */
size_t aml_append_pkglength(struct aml_buffer *buffer, size_t content_length);

/* A 4-character NameSeg ("_S5_", "PEVT"); shorter names are padded with '_'. */
void aml_append_nameseg(struct aml_buffer *buffer, const char *name);

/* Integer constant in the shortest encoding (ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix). */
void aml_append_integer(struct aml_buffer *buffer, uint64_t value);

/* String constant: StringPrefix, ASCII bytes, NUL. */
void aml_append_string(struct aml_buffer *buffer, const char *text);

/* Name(NAME, <object>) where the object bytes are already encoded. */
void aml_append_name(struct aml_buffer *buffer, const char *name, const uint8_t *object, size_t object_length);

/* Package(){ integers } */
void aml_append_integer_package(struct aml_buffer *buffer, const uint64_t *values, uint8_t count);

/* Buffer(){ bytes } */
void aml_append_byte_buffer(struct aml_buffer *buffer, const uint8_t *data, size_t length);

/* Scope(\NAME){ body } at the root. */
void aml_append_root_scope(struct aml_buffer *buffer, const char *name, const uint8_t *body, size_t body_length);

/* Device(NAME){ body } */
void aml_append_device(struct aml_buffer *buffer, const char *name, const uint8_t *body, size_t body_length);

/* AML opcodes used above, named as in the ACPI specification. */
enum {
    AML_ZERO_OP = 0x00,
    AML_ONE_OP = 0x01,
    AML_NAME_OP = 0x08,
    AML_BYTE_PREFIX = 0x0a,
    AML_WORD_PREFIX = 0x0b,
    AML_DWORD_PREFIX = 0x0c,
    AML_STRING_PREFIX = 0x0d,
    AML_QWORD_PREFIX = 0x0e,
    AML_SCOPE_OP = 0x10,
    AML_BUFFER_OP = 0x11,
    AML_PACKAGE_OP = 0x12,
    AML_ONES_OP = 0xff,
    AML_EXT_OP_PREFIX = 0x5b,
    AML_EXT_DEVICE_OP = 0x82,
    AML_ROOT_CHAR = 0x5c,
};

#endif

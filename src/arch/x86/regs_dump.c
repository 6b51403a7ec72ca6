#include "arch/x86/regs_dump.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "util/log.h"

struct text_buffer {
    char *data;
    size_t size;
    size_t used;
};

static void append(struct text_buffer *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(struct text_buffer *text, const char *fmt, ...)
{
    if (text->used >= text->size)
        return;
    va_list args;
    va_start(args, fmt);
    int written = vsnprintf(text->data + text->used, text->size - text->used, fmt, args);
    va_end(args);
    if (written > 0)
        text->used += (size_t)written < text->size - text->used ? (size_t)written : text->size - text->used - 1;
}

static void append_segment(struct text_buffer *text, const char *name, const struct kvm_segment *segment)
{
    append(text, "  %-3s sel=%04x base=%016llx limit=%08x type=%x s=%u dpl=%u p=%u db=%u l=%u g=%u%s\n", name,
           segment->selector, (unsigned long long)segment->base, segment->limit, segment->type, segment->s,
           segment->dpl, segment->present, segment->db, segment->l, segment->g, segment->unusable ? " unusable" : "");
}

void regs_dump_format(const struct kvm_regs *regs, const struct kvm_sregs *sregs, char *buffer, size_t size)
{
    struct text_buffer text = {.data = buffer, .size = size, .used = 0};
    if (size == 0)
        return;
    buffer[0] = '\0';
    append(&text, "  RIP=%016llx RSP=%016llx RFLAGS=%016llx\n", (unsigned long long)regs->rip,
           (unsigned long long)regs->rsp, (unsigned long long)regs->rflags);
    append(&text, "  RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n", (unsigned long long)regs->rax,
           (unsigned long long)regs->rbx, (unsigned long long)regs->rcx, (unsigned long long)regs->rdx);
    append(&text, "  RSI=%016llx RDI=%016llx RBP=%016llx\n", (unsigned long long)regs->rsi,
           (unsigned long long)regs->rdi, (unsigned long long)regs->rbp);
    append(&text, "  R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n", (unsigned long long)regs->r8,
           (unsigned long long)regs->r9, (unsigned long long)regs->r10, (unsigned long long)regs->r11);
    append(&text, "  R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n", (unsigned long long)regs->r12,
           (unsigned long long)regs->r13, (unsigned long long)regs->r14, (unsigned long long)regs->r15);
    append(&text, "  CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx\n", (unsigned long long)sregs->cr0,
           (unsigned long long)sregs->cr2, (unsigned long long)sregs->cr3, (unsigned long long)sregs->cr4);
    append(&text, "  EFER=%016llx APIC_BASE=%016llx CR8=%llx\n", (unsigned long long)sregs->efer,
           (unsigned long long)sregs->apic_base, (unsigned long long)sregs->cr8);
    append_segment(&text, "CS", &sregs->cs);
    append_segment(&text, "DS", &sregs->ds);
    append_segment(&text, "ES", &sregs->es);
    append_segment(&text, "FS", &sregs->fs);
    append_segment(&text, "GS", &sregs->gs);
    append_segment(&text, "SS", &sregs->ss);
    append_segment(&text, "TR", &sregs->tr);
    append(&text, "  GDT base=%016llx limit=%04x  IDT base=%016llx limit=%04x\n", (unsigned long long)sregs->gdt.base,
           sregs->gdt.limit, (unsigned long long)sregs->idt.base, sregs->idt.limit);
}

void regs_dump_vcpu(int vcpu_fd, unsigned vcpu_index)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
        log_error("vCPU %u registers unavailable: %s", vcpu_index, strerror(errno));
        return;
    }
    char text[2048];
    regs_dump_format(&regs, &sregs, text, sizeof(text));
    log_error("vCPU %u registers:", vcpu_index);
    /* One log line per register line, so the dump follows the log level and stays whole. */
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        log_error("%s", line);
}

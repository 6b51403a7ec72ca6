#include "kvm/kvm_system.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int kvm_system_open(struct kvm_system *kvm, struct error *error)
{
    memset(kvm, 0, sizeof(*kvm));
    kvm->fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm->fd < 0) {
        int saved = errno;
        if (saved == ENOENT)
            return error_set(error, EXIT_STATUS_FAILURE, "/dev/kvm does not exist: this host has no KVM");
        return error_set(error, EXIT_STATUS_FAILURE, "cannot open /dev/kvm: %s", strerror(saved));
    }
    int version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        kvm_system_close(kvm);
        return error_set(error, EXIT_STATUS_FAILURE, "/dev/kvm has API version %d, kestrel needs %d", version,
                         KVM_API_VERSION);
    }
    static const struct {
        long capability;
        const char *name;
    } required[] = {
        {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
        {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
        {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
        {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
        {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
        {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (kvm_system_check_extension(kvm, required[i].capability) <= 0) {
            kvm_system_close(kvm);
            return error_set(error, EXIT_STATUS_FAILURE, "/dev/kvm lacks %s", required[i].name);
        }
    }
    int recommended = kvm_system_check_extension(kvm, KVM_CAP_NR_VCPUS);
    int max = kvm_system_check_extension(kvm, KVM_CAP_MAX_VCPUS);
    /* The API documents these fallbacks for kernels that lack the capabilities. */
    kvm->recommended_vcpus = recommended > 0 ? (unsigned)recommended : 4;
    kvm->max_vcpus = max > 0 ? (unsigned)max : kvm->recommended_vcpus;
    int mmap_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (mmap_size < (int)sizeof(struct kvm_run)) {
        kvm_system_close(kvm);
        return error_set(error, EXIT_STATUS_FAILURE, "KVM_GET_VCPU_MMAP_SIZE returned %d", mmap_size);
    }
    kvm->vcpu_mmap_size = (uint64_t)mmap_size;
    return 0;
}

void kvm_system_close(struct kvm_system *kvm)
{
    if (kvm->fd >= 0)
        close(kvm->fd);
    kvm->fd = -1;
}

int kvm_system_check_extension(const struct kvm_system *kvm, long capability)
{
    int result = ioctl(kvm->fd, KVM_CHECK_EXTENSION, capability);
    return result < 0 ? 0 : result;
}

/*
 * KVM_GET_SUPPORTED_CPUID leaves out the TSC-deadline timer, which the
 * in-kernel LAPIC emulates whenever KVM_CAP_TSC_DEADLINE_TIMER is present
 * (api.rst). Without it Linux programs the LAPIC timer in one-shot mode.
 */
static void kvm_system_add_tsc_deadline(const struct kvm_system *kvm, struct kvm_cpuid2 *cpuid)
{
    if (kvm_system_check_extension(kvm, KVM_CAP_TSC_DEADLINE_TIMER) <= 0)
        return;
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        if (cpuid->entries[i].function == 1)
            cpuid->entries[i].ecx |= 1u << 24; /* CPUID.01H:ECX.TSC_DEADLINE */
    }
}

struct kvm_cpuid2 *kvm_system_supported_cpuid(const struct kvm_system *kvm, struct error *error)
{
    /* E2BIG means the buffer was too small: double it, within reason. */
    for (uint32_t capacity = 128; capacity <= 4096; capacity *= 2) {
        struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + capacity * sizeof(struct kvm_cpuid_entry2));
        if (!cpuid) {
            error_set(error, EXIT_STATUS_FAILURE, "out of memory for the CPUID list");
            return NULL;
        }
        cpuid->nent = capacity;
        if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0) {
            kvm_system_add_tsc_deadline(kvm, cpuid);
            return cpuid;
        }
        int saved = errno;
        free(cpuid);
        if (saved != E2BIG) {
            error_set(error, EXIT_STATUS_FAILURE, "KVM_GET_SUPPORTED_CPUID: %s", strerror(saved));
            return NULL;
        }
    }
    error_set(error, EXIT_STATUS_FAILURE, "KVM_GET_SUPPORTED_CPUID: list too long");
    return NULL;
}

struct kvm_msr_list *kvm_system_msr_index_list(const struct kvm_system *kvm, struct error *error)
{
    struct kvm_msr_list probe = {.nmsrs = 0};
    /* The first call fails with E2BIG and reports the count. */
    if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
        error_set(error, EXIT_STATUS_FAILURE, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
        return NULL;
    }
    uint32_t count = probe.nmsrs;
    if (count > 65536) {
        error_set(error, EXIT_STATUS_FAILURE, "KVM_GET_MSR_INDEX_LIST: implausible count %u", count);
        return NULL;
    }
    struct kvm_msr_list *list = calloc(1, sizeof(*list) + count * sizeof(uint32_t));
    if (!list) {
        error_set(error, EXIT_STATUS_FAILURE, "out of memory for the MSR list");
        return NULL;
    }
    list->nmsrs = count;
    if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
        error_set(error, EXIT_STATUS_FAILURE, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
        free(list);
        return NULL;
    }
    return list;
}

bool kvm_host_is_pvm(void)
{
    struct stat info;
    return stat("/sys/module/kvm_pvm", &info) == 0;
}

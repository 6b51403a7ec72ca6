#include "vm_landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/kernel_cache.h"
#include "sandbox/landlock.h"
#include "util/log.h"
#include "util/process_memory.h"

/* The directory holding `path` (".", "/" or its prefix), in `directory`. */
static int directory_of(const char *path, char *directory, size_t size, struct error *error)
{
    const char *slash = strrchr(path, '/');
    int written = !slash ? snprintf(directory, size, ".")
                  : slash == path ? snprintf(directory, size, "/")
                                  : snprintf(directory, size, "%.*s", (int)(slash - path), path);
    if (written < 0 || (size_t)written >= size)
        return error_set(error, EXIT_STATUS_FAILURE, "landlock: the directory of %s is too long a path", path);
    return 0;
}

static int allow_directory_of(struct landlock_sandbox *sandbox, const char *path, enum landlock_grant grant,
                              struct error *error)
{
    char directory[4096];
    if (directory_of(path, directory, sizeof(directory), error) < 0)
        return -1;
    return landlock_sandbox_allow(sandbox, directory, grant, false, error);
}

static int allow_images(struct landlock_sandbox *sandbox, const struct vm_config *config, struct error *error)
{
    if (landlock_sandbox_allow(sandbox, config->kernel_path, LANDLOCK_GRANT_READ_FILE, false, error) < 0)
        return -1;
    if (config->initrd_path &&
        landlock_sandbox_allow(sandbox, config->initrd_path, LANDLOCK_GRANT_READ_FILE, false, error) < 0)
        return -1;
    if (config->kernel_entry == BOOT_KERNEL_ENTRY_BZIMAGE)
        return 0;
    /*
     * A reboot boots from the cache entry again. A cache that cannot be named or reached now could not have been
     * used at start either: no rule, and a reboot goes without the cache as the start did.
     */
    char cache[sizeof(((struct kernel_cache *)0)->directory)];
    struct error ignored;
    if (kernel_cache_directory_path(cache, sizeof(cache), &ignored) == 0)
        (void)landlock_sandbox_allow(sandbox, cache, LANDLOCK_GRANT_OWN_FILES, true, &ignored);
    return 0;
}

static int allow_disks(struct landlock_sandbox *sandbox, const struct vm_config *config, struct error *error)
{
    for (unsigned i = 0; i < config->disk_count; i++) {
        const struct disk_spec *disk = &config->disks[i];
        enum landlock_grant grant = disk->read_only ? LANDLOCK_GRANT_READ_FILE : LANDLOCK_GRANT_READ_WRITE_FILE;
        if (landlock_sandbox_allow(sandbox, disk->path, grant, false, error) < 0)
            return -1;
        if (disk->trace_path && allow_directory_of(sandbox, disk->trace_path, LANDLOCK_GRANT_PUBLISH_FILES, error) < 0)
            return -1;
    }
    return 0;
}

static bool has_user_net(const struct vm_config *config)
{
    for (unsigned i = 0; i < config->net_count; i++)
        if (config->nets[i].backend == NET_BACKEND_USER)
            return true;
    return false;
}

static int build_rules(struct landlock_sandbox *sandbox, const struct vm_config *config, const char *api_socket_path,
                       struct error *error)
{
    if (allow_images(sandbox, config, error) < 0 || allow_disks(sandbox, config, error) < 0)
        return -1;
    if (config->console.kind == CONSOLE_FILE &&
        landlock_sandbox_allow(sandbox, config->console.path, LANDLOCK_GRANT_WRITE_FILE, false, error) < 0)
        return -1;
    /* Held open since the input was checked; allowed again because it gives nothing the open fd does not. */
    if (landlock_sandbox_allow(sandbox, "/dev/kvm", LANDLOCK_GRANT_DEVICE, true, error) < 0)
        return -1;
    if (api_socket_path && allow_directory_of(sandbox, api_socket_path, LANDLOCK_GRANT_PUBLISH_FILES, error) < 0)
        return -1;
    /* libslirp reads it when the guest asks 10.0.2.3 a DNS question, and again when the file changes. */
    if (has_user_net(config) &&
        landlock_sandbox_allow(sandbox, "/etc/resolv.conf", LANDLOCK_GRANT_READ_FILE, true, error) < 0)
        return -1;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    /*
     * Sanitizer builds only (kestrel-asan, kestrel-tsan): their runtimes read /proc/self (LeakSanitizer lists
     * the threads at exit) and the executable (symbolizing a report). Release builds never open either.
     */
    if (landlock_sandbox_allow(sandbox, "/proc/self", LANDLOCK_GRANT_READ_TREE, false, error) < 0 ||
        landlock_sandbox_allow(sandbox, "/proc/self/exe", LANDLOCK_GRANT_READ_FILE, false, error) < 0)
        return -1;
#endif
    return 0;
}

#ifdef KESTREL_TEST_SEAMS
/*
 * KESTREL_TEST_LANDLOCK_OPEN=PATH[:PATH...]: after set-up, a new thread (it
 * inherits the sandbox, as every device thread does) opens each PATH for
 * reading and reports the result in one line.
 */
static void *probe_thread(void *paths)
{
    char *saved = NULL;
    for (char *path = strtok_r(paths, ":", &saved); path; path = strtok_r(NULL, ":", &saved)) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        int code = errno;
        log_info("landlock test: open %s: %s", path, fd >= 0 ? "ok" : strerrorname_np(code));
        if (fd >= 0)
            close(fd);
    }
    return NULL;
}

static void probe_after_setup(void)
{
    const char *value = getenv("KESTREL_TEST_LANDLOCK_OPEN");
    char *paths = value ? strdup(value) : NULL;
    pthread_t thread;
    if (paths && pthread_create(&thread, NULL, probe_thread, paths) == 0)
        pthread_join(thread, NULL);
    free(paths);
}
#endif

static void describe(struct vm_landlock *landlock)
{
    const char *name = strerrorname_np(landlock->unavailable_errno);
    switch (landlock->state) {
    case VM_LANDLOCK_ON:
        snprintf(landlock->state_text, sizeof(landlock->state_text), "ABI %d, on", landlock->abi);
        break;
    case VM_LANDLOCK_UNAVAILABLE:
        snprintf(landlock->state_text, sizeof(landlock->state_text), "not available (%s)", name ? name : "unknown");
        break;
    case VM_LANDLOCK_OFF:
        snprintf(landlock->state_text, sizeof(landlock->state_text), "off (--landlock off)");
        break;
    }
}

static int apply(const struct vm_config *config, const char *api_socket_path, struct vm_landlock *landlock,
                 struct error *error)
{
    *landlock = (struct vm_landlock){.state = VM_LANDLOCK_OFF, .sandbox = {.ruleset_fd = -1}};
    if (config->landlock_off) {
        log_warn("--landlock off: kestrel can open any file its user can; for debugging only");
        return 0;
    }
    struct landlock_sandbox *sandbox = &landlock->sandbox;
    int begun = landlock_sandbox_begin(sandbox, !has_user_net(config), error);
    if (begun < 0)
        return -1;
    if (begun == 0) {
        landlock->state = VM_LANDLOCK_UNAVAILABLE;
        landlock->unavailable_errno = sandbox->unavailable_errno;
        return 0;
    }
    /* --stats reads smaps at exit, and procfs is outside the sandbox. */
    if ((config->stats && process_memory_hold_smaps(error) < 0) ||
        build_rules(sandbox, config, api_socket_path, error) < 0 || landlock_sandbox_enforce(sandbox, error) < 0) {
        landlock_sandbox_close(sandbox);
        return -1;
    }
    landlock->state = VM_LANDLOCK_ON;
    landlock->abi = sandbox->abi;
    return 0;
}

int vm_landlock_apply(const struct vm_config *config, const char *api_socket_path, struct vm_landlock *landlock,
                      struct error *error)
{
    if (apply(config, api_socket_path, landlock, error) < 0)
        return -1;
    describe(landlock);
#ifdef KESTREL_TEST_SEAMS
    probe_after_setup();
#endif
    return 0;
}

void vm_landlock_close(struct vm_landlock *landlock)
{
    if (landlock->state == VM_LANDLOCK_ON)
        landlock_sandbox_close(&landlock->sandbox);
}

void vm_landlock_print(const struct vm_landlock *landlock, FILE *out)
{
    struct vm_landlock described = *landlock;
    describe(&described);
    fprintf(out, "landlock: %s\n", described.state_text);
}

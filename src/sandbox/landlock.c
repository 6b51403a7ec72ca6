#include "sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Debian's UAPI header may be older than the running kernel: the rights and
 * fields added after ABI 2 are spelt here with their fixed ABI values.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#define ACCESS_NET_BIND_TCP    (1ULL << 0) /* ABI 4 */
#define ACCESS_NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL               (1ULL << 1) /* ABI 6 */

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule       445
#define SYS_landlock_restrict_self  446
#endif

/* The ruleset attribute as of ABI 6; older kernels are given only the prefix they know. */
struct ruleset_attributes {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};

#define ABI_1_FS_ACCESS                                                                                            \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |                    \
     LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                 \
     LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |                     \
     LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                  \
     LANDLOCK_ACCESS_FS_MAKE_SYM)

/* The rights a rule on a file (not a directory) may hold; the kernel refuses others with EINVAL. */
#define FILE_ACCESS                                                                                                \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |                    \
     LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

#ifdef KESTREL_TEST_SEAMS
int landlock_test_abi_override;
#endif

int landlock_abi_version(void)
{
#ifdef KESTREL_TEST_SEAMS
    if (landlock_test_abi_override != 0)
        return landlock_test_abi_override;
#endif
    long version = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (version < 0)
        return -errno;
    return version == 0 ? -EOPNOTSUPP : (int)version;
}

uint64_t landlock_known_fs_access(int abi)
{
    if (abi < 1)
        return 0;
    uint64_t access = ABI_1_FS_ACCESS;
    if (abi >= 2)
        access |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        access |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        access |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return access;
}

uint64_t landlock_grant_access(enum landlock_grant grant, int abi, bool directory)
{
    uint64_t access = 0;
    switch (grant) {
    case LANDLOCK_GRANT_READ_FILE:
        access = LANDLOCK_ACCESS_FS_READ_FILE;
        break;
    case LANDLOCK_GRANT_WRITE_FILE:
        access = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
        break;
    case LANDLOCK_GRANT_READ_WRITE_FILE:
        access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
        break;
    case LANDLOCK_GRANT_DEVICE:
        access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_IOCTL_DEV;
        break;
    case LANDLOCK_GRANT_PUBLISH_FILES:
        access = LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE;
        break;
    case LANDLOCK_GRANT_READ_TREE:
        access = LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_READ_FILE;
        break;
    case LANDLOCK_GRANT_OWN_FILES:
        access = LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                 LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE;
        break;
    }
    if (!directory)
        access &= FILE_ACCESS;
    return access & landlock_known_fs_access(abi);
}

static size_t attributes_size(int abi)
{
    if (abi >= 6)
        return sizeof(struct ruleset_attributes);
    if (abi >= 4)
        return offsetof(struct ruleset_attributes, scoped);
    return offsetof(struct ruleset_attributes, handled_access_net);
}

int landlock_sandbox_begin(struct landlock_sandbox *sandbox, bool refuse_tcp, struct error *error)
{
    *sandbox = (struct landlock_sandbox){.ruleset_fd = -1};
    int abi = landlock_abi_version();
    if (abi < 1) {
        sandbox->unavailable_errno = -abi;
        return 0;
    }
    sandbox->abi = abi;
    sandbox->handled_fs = landlock_known_fs_access(abi);
    sandbox->handles_tcp = refuse_tcp && abi >= 4;
    /*
     * Signals and abstract Unix sockets scoped to the sandbox (ABI 6): kestrel
     * signals only its own threads and listens only on a path.
     */
    struct ruleset_attributes attributes = {
        .handled_access_fs = sandbox->handled_fs,
        .handled_access_net = sandbox->handles_tcp ? ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP : 0,
        .scoped = abi >= 6 ? SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL : 0,
    };
    long fd = syscall(SYS_landlock_create_ruleset, &attributes, attributes_size(abi), 0);
    if (fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "landlock: cannot create a ruleset (ABI %d): %s", abi,
                         strerror(errno));
    sandbox->ruleset_fd = (int)fd;
    return 1;
}

int landlock_sandbox_allow(struct landlock_sandbox *sandbox, const char *path, enum landlock_grant grant,
                           bool optional, struct error *error)
{
    if (sandbox->ruleset_fd < 0)
        return 0;
    if (sandbox->path_count == LANDLOCK_SANDBOX_MAX_PATHS)
        return error_set(error, EXIT_STATUS_FAILURE, "landlock: more than %d paths", LANDLOCK_SANDBOX_MAX_PATHS);
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (optional && (errno == ENOENT || errno == ENOTDIR))
            return 0;
        return error_set(error, EXIT_STATUS_FAILURE, "landlock: cannot open %s for a rule: %s", path,
                         strerror(errno));
    }
    sandbox->path_fds[sandbox->path_count++] = fd;
    struct stat status;
    if (fstat(fd, &status) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "landlock: cannot stat %s: %s", path, strerror(errno));
    struct landlock_path_beneath_attr rule = {
        .allowed_access = landlock_grant_access(grant, sandbox->abi, S_ISDIR(status.st_mode)),
        .parent_fd = fd,
    };
    if (rule.allowed_access != 0 &&
        syscall(SYS_landlock_add_rule, sandbox->ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "landlock: cannot add a rule for %s: %s", path,
                         strerror(errno));
    return 0;
}

int landlock_sandbox_enforce(struct landlock_sandbox *sandbox, struct error *error)
{
    if (sandbox->ruleset_fd < 0)
        return 0;
    /* Without CAP_SYS_ADMIN, Landlock (as seccomp) needs no_new_privs: no later exec may gain privileges. */
    int result = 0;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        result = error_set(error, EXIT_STATUS_FAILURE, "landlock: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    else if (syscall(SYS_landlock_restrict_self, sandbox->ruleset_fd, 0) < 0)
        result = error_set(error, EXIT_STATUS_FAILURE, "landlock: cannot enforce the ruleset: %s", strerror(errno));
    close(sandbox->ruleset_fd);
    sandbox->ruleset_fd = -1;
    return result;
}

void landlock_sandbox_close(struct landlock_sandbox *sandbox)
{
    if (sandbox->ruleset_fd >= 0)
        close(sandbox->ruleset_fd);
    sandbox->ruleset_fd = -1;
    for (unsigned i = 0; i < sandbox->path_count; i++)
        close(sandbox->path_fds[i]);
    sandbox->path_count = 0;
}

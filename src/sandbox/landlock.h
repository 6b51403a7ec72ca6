#ifndef KESTREL_SANDBOX_LANDLOCK_H
#define KESTREL_SANDBOX_LANDLOCK_H

/*
 * Landlock (Documentation/userspace-api/landlock.rst) through its raw system
 * calls: Debian has no library for it. A sandbox is built as a ruleset of
 * paths, each with a grant (what may be done there), then enforced on the
 * calling thread and every thread it creates afterwards. Files opened before
 * enforcement keep the access they were opened with.
 *
 * Best effort across ABI versions: the ruleset handles (refuses by default)
 * only the access rights the running kernel's ABI knows, and a grant asks
 * only for those. Where the kernel has no Landlock (ENOSYS) or it is
 * disabled (EOPNOTSUPP), landlock_sandbox_begin says so and nothing is
 * enforced.
 */

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

enum landlock_grant {
    LANDLOCK_GRANT_READ_FILE,       /* open a file for reading */
    LANDLOCK_GRANT_WRITE_FILE,      /* open a file for writing (and truncate it) */
    LANDLOCK_GRANT_READ_WRITE_FILE, /* both */
    LANDLOCK_GRANT_DEVICE,          /* open a device node read-write and use its ioctls */
    /* A directory where files are published and removed: create (link) and rename regular files, unlink them. */
    LANDLOCK_GRANT_PUBLISH_FILES,
    /* A directory tree to read: list its directories, read its files. */
    LANDLOCK_GRANT_READ_TREE,
    /* A directory whose files kestrel keeps: list it, read, create, write, replace and remove its regular files. */
    LANDLOCK_GRANT_OWN_FILES,
};

/* Enough for kestrel's set: the images, 8 disks and their traces' directories, the console, the API, devices. */
#define LANDLOCK_SANDBOX_MAX_PATHS 40

struct landlock_sandbox {
    int ruleset_fd;       /* -1 when nothing is being built */
    /*
     * Each rule's path, held open (O_PATH) for as long as the sandbox lives: a rule names an inode, and a file
     * system without stable inodes (9p without a cache, as the test host's root) makes a new one for a path
     * whose dentry was dropped. A held path keeps its dentry, so the path keeps meaning the inode of the rule.
     */
    int path_fds[LANDLOCK_SANDBOX_MAX_PATHS];
    unsigned path_count;
    int abi;              /* the kernel's Landlock ABI version; 0 when it has none */
    int unavailable_errno; /* why abi is 0: ENOSYS (not built in), EOPNOTSUPP (disabled at boot) */
    uint64_t handled_fs;  /* the file-system access rights this ruleset refuses unless granted */
    bool handles_tcp;     /* TCP bind and connect are refused (ABI 4 and later, when asked) */
};

/* The running kernel's ABI version (>= 1), or -errno when it has no usable Landlock. */
int landlock_abi_version(void);

/* The file-system access rights ABI `abi` knows (0 for an ABI below 1). */
uint64_t landlock_known_fs_access(int abi);

/* What `grant` asks for under ABI `abi`, for a directory or (`directory` false) a file. */
uint64_t landlock_grant_access(enum landlock_grant grant, int abi, bool directory);

/*
 * Starts a ruleset. 1: building; 0: Landlock is not available (the sandbox
 * records why; every other call then does nothing); -1: `error` set.
 * refuse_tcp: also refuse every TCP bind and connect, where the ABI can.
 */
int landlock_sandbox_begin(struct landlock_sandbox *sandbox, bool refuse_tcp, struct error *error);

/*
 * Grants `grant` on `path` (a file, or a directory and everything beneath
 * it). A missing path is an error unless `optional`.
 */
int landlock_sandbox_allow(struct landlock_sandbox *sandbox, const char *path, enum landlock_grant grant,
                           bool optional, struct error *error);

/* Enforces the ruleset on the calling thread and its future threads, and closes it; the paths stay held. */
int landlock_sandbox_enforce(struct landlock_sandbox *sandbox, struct error *error);

/* Closes the ruleset (one never enforced is dropped) and lets go of the held paths. */
void landlock_sandbox_close(struct landlock_sandbox *sandbox);

#ifdef KESTREL_TEST_SEAMS
/* Tests: when non-zero, landlock_abi_version returns this instead of asking the kernel (e.g. -ENOSYS, 1). */
extern int landlock_test_abi_override;
#endif

#endif

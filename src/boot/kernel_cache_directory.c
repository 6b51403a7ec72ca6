/* kernel_cache_open*(): finding, creating and vetting the cache directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/kernel_cache.h"

#define CACHE_SUBDIRECTORY "kestrel"

/* A directory someone else owns or can write to could hold a planted entry: refuse it. */
static int check_directory(int fd, const char *path, struct error *error)
{
    struct stat status;
    if (fstat(fd, &status) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "cannot stat cache directory %s: %s", path, strerror(errno));
    if (!S_ISDIR(status.st_mode))
        return error_set(error, EXIT_STATUS_FAILURE, "cache directory %s is not a directory", path);
    if (status.st_uid != geteuid())
        return error_set(error, EXIT_STATUS_FAILURE, "cache directory %s belongs to uid %u, not to uid %u", path,
                         (unsigned)status.st_uid, (unsigned)geteuid());
    if (status.st_mode & (S_IWGRP | S_IWOTH))
        return error_set(error, EXIT_STATUS_FAILURE, "cache directory %s is writable by %s", path,
                         (status.st_mode & S_IWOTH) ? "others" : "its group");
    return 0;
}

/* mkdir -p with mode 0700 for every missing component; existing ones are vetted by the caller's opens. */
static int make_directories(const char *path, struct error *error)
{
    char prefix[sizeof(((struct kernel_cache *)0)->directory)];
    size_t length = strlen(path);
    if (length >= sizeof(prefix))
        return error_set(error, EXIT_STATUS_FAILURE, "cache directory path is too long");
    memcpy(prefix, path, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (prefix[i] != '/' && prefix[i] != '\0')
            continue;
        char saved = prefix[i];
        prefix[i] = '\0';
        if (mkdir(prefix, 0700) < 0 && errno != EEXIST)
            return error_set(error, EXIT_STATUS_FAILURE, "cannot create cache directory %s: %s", prefix,
                             strerror(errno));
        prefix[i] = saved;
    }
    return 0;
}

static int open_checked(int at_fd, const char *name, const char *path, int extra_flags, struct error *error)
{
    int fd = openat(at_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | extra_flags);
    if (fd < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "cannot open cache directory %s: %s", path, strerror(errno));
    if (check_directory(fd, path, error) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int kernel_cache_open_path(struct kernel_cache *cache, const char *path, struct error *error)
{
    cache->directory_fd = -1;
    if ((size_t)snprintf(cache->directory, sizeof(cache->directory), "%s", path) >= sizeof(cache->directory))
        return error_set(error, EXIT_STATUS_FAILURE, "cache directory path is too long");
    int fd = open_checked(AT_FDCWD, path, path, O_NOFOLLOW, error);
    if (fd < 0)
        return -1;
    cache->directory_fd = fd;
    return 0;
}

/* $XDG_CACHE_HOME, else ~/.cache: the base the kestrel subdirectory goes in. */
static int base_path(char *base, size_t size, struct error *error)
{
    /* The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored. */
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int length;
    if (xdg && xdg[0] == '/')
        length = snprintf(base, size, "%s", xdg);
    else if (home && home[0] == '/')
        length = snprintf(base, size, "%s/.cache", home);
    else
        return error_set(error, EXIT_STATUS_FAILURE, "no cache directory (neither XDG_CACHE_HOME nor HOME is set)");
    if (length < 0 || (size_t)length + sizeof("/" CACHE_SUBDIRECTORY) > size)
        return error_set(error, EXIT_STATUS_FAILURE, "cache directory path is too long");
    return 0;
}

int kernel_cache_directory_path(char *path, size_t size, struct error *error)
{
    char base[sizeof(((struct kernel_cache *)0)->directory)];
    if (base_path(base, sizeof(base), error) < 0)
        return -1;
    if ((size_t)snprintf(path, size, "%s/" CACHE_SUBDIRECTORY, base) >= size)
        return error_set(error, EXIT_STATUS_FAILURE, "cache directory path is too long");
    return 0;
}

int kernel_cache_open(struct kernel_cache *cache, struct error *error)
{
    cache->directory_fd = -1;
    char base[sizeof(cache->directory)];
    if (base_path(base, sizeof(base), error) < 0)
        return -1;
    if (make_directories(base, error) < 0)
        return -1;
    /*
     * The base may be a symlink the user made (~/.cache on another disk); what it leads to is vetted. O_PATH:
     * kestrel never lists the base, and under Landlock (a reboot loads the kernel again) it may not.
     */
    int base_fd = open_checked(AT_FDCWD, base, base, O_PATH, error);
    if (base_fd < 0)
        return -1;
    /* Length checked above; the check keeps GCC's truncation analysis satisfied. */
    if ((size_t)snprintf(cache->directory, sizeof(cache->directory), "%s/" CACHE_SUBDIRECTORY, base) >=
        sizeof(cache->directory)) {
        close(base_fd);
        return error_set(error, EXIT_STATUS_FAILURE, "cache directory path is too long");
    }
    if (mkdirat(base_fd, CACHE_SUBDIRECTORY, 0700) < 0 && errno != EEXIST) {
        int saved = errno;
        close(base_fd);
        return error_set(error, EXIT_STATUS_FAILURE, "cannot create cache directory %s: %s", cache->directory,
                         strerror(saved));
    }
    int fd = open_checked(base_fd, CACHE_SUBDIRECTORY, cache->directory, O_NOFOLLOW, error);
    close(base_fd);
    if (fd < 0)
        return -1;
    cache->directory_fd = fd;
    return 0;
}

void kernel_cache_close(struct kernel_cache *cache)
{
    if (cache->directory_fd >= 0)
        close(cache->directory_fd);
    cache->directory_fd = -1;
}

#include "util/staged_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { NAME_ATTEMPTS = 100 };

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int open_directory(struct staged_file *file, const char *what, struct error *error)
{
    const char *slash = strrchr(file->path, '/');
    char *directory = !slash ? strdup(".") : slash == file->path ? strdup("/")
                                                                 : strndup(file->path, (size_t)(slash - file->path));
    if (!directory)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory");
    file->directory_fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int saved = errno;
    int result = 0;
    if (file->directory_fd < 0 && saved == ENOENT)
        result = error_set(error, EXIT_STATUS_USAGE, "%s %s: directory %s does not exist", what, file->path,
                           directory);
    else if (file->directory_fd < 0 && saved == ENOTDIR)
        result = error_set(error, EXIT_STATUS_USAGE, "%s %s: %s is not a directory", what, file->path, directory);
    else if (file->directory_fd < 0)
        result = error_set(error, EXIT_STATUS_USAGE, "%s %s: cannot open directory %s: %s", what, file->path,
                           directory, strerror(saved));
    free(directory);
    return result;
}

static int check_existing(struct staged_file *file, const char *what, struct error *error)
{
    const char *base = base_name(file->path);
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is a directory", what, file->path);
    struct stat existing;
    if (fstatat(file->directory_fd, base, &existing, 0) < 0)
        return 0;
    if (S_ISDIR(existing.st_mode))
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is a directory", what, file->path);
    if (!S_ISREG(existing.st_mode))
        return error_set(error, EXIT_STATUS_USAGE, "%s %s exists and is not a regular file", what, file->path);
    if (faccessat(file->directory_fd, base, W_OK, AT_EACCESS) < 0)
        return error_set(error, EXIT_STATUS_USAGE, "%s %s is not writable: %s", what, file->path, strerror(errno));
    return 0;
}

/* A name only this process uses: ".BASE.kestrel-PID-N", N the first free one. */
static int next_temporary_name(struct staged_file *file, unsigned attempt)
{
    free(file->temporary_name);
    if (asprintf(&file->temporary_name, ".%s.kestrel-%d-%u", base_name(file->path), (int)getpid(), attempt) < 0) {
        file->temporary_name = NULL;
        return -1;
    }
    return 0;
}

static int create_named(struct staged_file *file)
{
    for (unsigned attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
        if (next_temporary_name(file, attempt) < 0)
            return -1;
        file->fd = openat(file->directory_fd, file->temporary_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (file->fd >= 0 || errno != EEXIST)
            break;
    }
    if (file->fd >= 0)
        return 0;
    int saved = errno;
    free(file->temporary_name);
    file->temporary_name = NULL;
    errno = saved;
    return -1;
}

int staged_file_create(struct staged_file *file, const char *path, const char *what, struct error *error)
{
    *file = (struct staged_file){.fd = -1, .directory_fd = -1, .path = strdup(path)};
    if (!file->path)
        return error_set(error, EXIT_STATUS_FAILURE, "out of memory");
    if (open_directory(file, what, error) < 0 || check_existing(file, what, error) < 0) {
        staged_file_close(file);
        return -1;
    }
    file->fd = openat(file->directory_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    if (file->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
        create_named(file);
    if (file->fd < 0) {
        int saved = errno;
        staged_file_close(file);
        return error_set(error, EXIT_STATUS_USAGE, "cannot create %s %s: %s", what, path, strerror(saved));
    }
    return 0;
}

int staged_file_publish(struct staged_file *file, struct error *error)
{
    if (!file->temporary_name) {
        /* linkat through /proc needs no capability, unlike AT_EMPTY_PATH. */
        char proc_path[64];
        snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", file->fd);
        bool linked = false;
        for (unsigned attempt = 0; attempt < NAME_ATTEMPTS && !linked; attempt++) {
            if (next_temporary_name(file, attempt) < 0)
                return error_set(error, EXIT_STATUS_FAILURE, "out of memory");
            linked = linkat(AT_FDCWD, proc_path, file->directory_fd, file->temporary_name, AT_SYMLINK_FOLLOW) == 0;
            if (!linked && errno != EEXIST)
                break;
        }
        if (!linked) {
            int saved = errno;
            free(file->temporary_name);
            file->temporary_name = NULL;
            return error_set(error, EXIT_STATUS_FAILURE, "cannot name %s: %s", file->path, strerror(saved));
        }
    }
    if (renameat(file->directory_fd, file->temporary_name, file->directory_fd, base_name(file->path)) < 0)
        return error_set(error, EXIT_STATUS_FAILURE, "cannot create %s: %s", file->path, strerror(errno));
    free(file->temporary_name);
    file->temporary_name = NULL;
    file->published = true;
    return 0;
}

void staged_file_close(struct staged_file *file)
{
    if (file->temporary_name && !file->published && file->directory_fd >= 0)
        unlinkat(file->directory_fd, file->temporary_name, 0);
    if (file->fd >= 0)
        close(file->fd);
    if (file->directory_fd >= 0)
        close(file->directory_fd);
    free(file->temporary_name);
    free(file->path);
    *file = (struct staged_file){.fd = -1, .directory_fd = -1};
}

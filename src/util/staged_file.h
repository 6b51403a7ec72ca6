#ifndef KESTREL_UTIL_STAGED_FILE_H
#define KESTREL_UTIL_STAGED_FILE_H

/*
 * An output file that appears at its path only when it is complete: created
 * unnamed in the path's directory (O_TMPFILE), or under a temporary name
 * where the file system has no O_TMPFILE, and renamed into place by
 * staged_file_publish (replacing an older file). Until then a failure, a
 * usage error or a kill leaves nothing at the path.
 */

#include <stdbool.h>

#include "util/error.h"

struct staged_file {
    int fd;
    int directory_fd;
    char *path;
    char *temporary_name; /* in the directory; NULL while an O_TMPFILE has no name */
    bool published;
};

/*
 * `what` names the file in errors ("trace file"). EXIT_STATUS_USAGE for a
 * missing directory, a path that is a directory or not a regular file, an
 * existing file or a directory kestrel may not write.
 */
int staged_file_create(struct staged_file *file, const char *path, const char *what, struct error *error);

int staged_file_publish(struct staged_file *file, struct error *error);

/* Closes the file; removes it unless it was published. */
void staged_file_close(struct staged_file *file);

#endif

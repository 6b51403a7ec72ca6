#include "vm_traces.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int check_not_an_image(const struct vm_config *config, const struct disk_image images[], unsigned index,
                              struct error *error)
{
    const char *trace_path = config->disks[index].trace_path;
    struct stat wanted;
    if (stat(trace_path, &wanted) < 0)
        return 0; /* a new file: not an image */
    for (unsigned i = 0; i < config->disk_count; i++) {
        struct stat image;
        if (fstat(images[i].fd, &image) == 0 && image.st_dev == wanted.st_dev && image.st_ino == wanted.st_ino)
            return error_set(error, EXIT_STATUS_USAGE, "--disk %s: trace=%s is the disk image of --disk %s",
                             config->disks[index].path, trace_path, config->disks[i].path);
    }
    /* The trace replaces its file when the VM starts: never one of the VM's own inputs. */
    const char *inputs[2][2] = {{"--kernel", config->kernel_path}, {"--initrd", config->initrd_path}};
    for (unsigned i = 0; i < 2; i++) {
        struct stat input;
        if (inputs[i][1] && stat(inputs[i][1], &input) == 0 && input.st_dev == wanted.st_dev &&
            input.st_ino == wanted.st_ino)
            return error_set(error, EXIT_STATUS_USAGE, "--disk %s: trace=%s is the %s file", config->disks[index].path,
                             trace_path, inputs[i][0]);
    }
    return 0;
}

/* The file a trace path names, spelt one way: its directory resolved, then its last component. */
static char *canonical_path(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *directory = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    if (!directory)
        return NULL;
    char *resolved = realpath(directory, NULL);
    free(directory);
    if (!resolved)
        return NULL;
    char *result = NULL;
    if (asprintf(&result, "%s/%s", resolved, slash ? slash + 1 : path) < 0)
        result = NULL;
    free(resolved);
    return result;
}

static int check_distinct(const struct vm_config *config, unsigned index, struct error *error)
{
    char *wanted = canonical_path(config->disks[index].trace_path);
    if (!wanted)
        return 0; /* the writer opened its directory a moment ago; nothing more to learn */
    int result = 0;
    for (unsigned i = 0; i < index && result == 0; i++) {
        if (!config->disks[i].trace_path)
            continue;
        char *other = canonical_path(config->disks[i].trace_path);
        if (other && strcmp(other, wanted) == 0)
            result = error_set(error, EXIT_STATUS_USAGE, "--disk %s: trace=%s is also the trace of --disk %s",
                               config->disks[index].path, config->disks[index].trace_path, config->disks[i].path);
        free(other);
    }
    free(wanted);
    return result;
}

int vm_traces_create(const struct vm_config *config, const struct disk_image images[CLI_MAX_DISKS],
                     struct block_trace_writer *traces[CLI_MAX_DISKS], struct error *error)
{
    for (unsigned i = 0; i < config->disk_count && i < CLI_MAX_DISKS; i++) {
        if (!config->disks[i].trace_path)
            continue;
        if (check_not_an_image(config, images, i, error) < 0)
            return -1;
        struct error trace_error = {0};
        traces[i] = block_trace_writer_create(config->disks[i].trace_path, &trace_error);
        if (!traces[i])
            return error_set(error, trace_error.exit_status, "--disk %s: %s", config->disks[i].path,
                             trace_error.message);
        if (check_distinct(config, i, error) < 0)
            return -1;
    }
    return 0;
}

void vm_traces_close(struct block_trace_writer *traces[CLI_MAX_DISKS])
{
    for (unsigned i = 0; i < CLI_MAX_DISKS; i++) {
        block_trace_writer_close(traces[i]);
        traces[i] = NULL;
    }
}

#ifndef KESTREL_VM_TRACES_H
#define KESTREL_VM_TRACES_H

/*
 * The block I/O traces of one VM (--disk ...,trace=PATH): created with the
 * user's input, after the images are open, so a bad trace path is a usage
 * error and leaves nothing on disk; started by the disks' devices
 * (vmm_blk.c) and closed after their I/O threads stopped.
 */

#include "backends/disk_image.h"
#include "cli.h"
#include "trace/block_trace_writer.h"

/*
 * traces[i] for config->disks[i] with a trace path, else NULL. Refused: a
 * path that is one of the images, two disks tracing to one file, and what
 * block_trace_writer_create refuses; also the --kernel or --initrd file. On failure what was made is left for
 * vm_traces_close.
 */
int vm_traces_create(const struct vm_config *config, const struct disk_image images[CLI_MAX_DISKS],
                     struct block_trace_writer *traces[CLI_MAX_DISKS], struct error *error);

void vm_traces_close(struct block_trace_writer *traces[CLI_MAX_DISKS]);

#endif

#ifndef KESTREL_VM_DISKS_H
#define KESTREL_VM_DISKS_H

/*
 * The --disk images of one VM: opened, checked and locked in --disk order
 * before the VM exists, so a bad image is a usage error on every host.
 */

#include "backends/disk_image.h"
#include "cli.h"

/*
 * Opens config->disks[i] into images[i]; *opened counts the ones open, also
 * after a failure (vm_disks_close closes exactly those). An image that is
 * already open under another --disk, by device and inode: a usage error.
 */
int vm_disks_open(const struct vm_config *config, struct disk_image images[CLI_MAX_DISKS], unsigned *opened,
                  struct error *error);

void vm_disks_close(struct disk_image images[CLI_MAX_DISKS], unsigned *opened);

#endif

#ifndef KESTREL_VMM_API_H
#define KESTREL_VMM_API_H

/*
 * `--api-sock PATH` / `--name NAME` for `kestrel run`: the socket claimed
 * with the user's input (a bad path or a name in use is a usage error,
 * before KVM is touched), and the VM's description for GET / and
 * GET /vm/config.
 */

#include <stddef.h>

#include "api/api_server.h"
#include "cli.h"
#include "vm_control.h"

struct vmm_api {
    int fd;                    /* the claimed socket until the server owns it; -1 */
    char path[108];
    struct api_vm_description description;
    struct api_server *server;
    struct vm_control control;
    bool control_ready;
};

/* Claims the socket of --api-sock or --name (none given: fd -1). */
int vmm_api_listen(struct vmm_api *api, const struct vm_config *config, struct error *error);

/* Serves the socket, if claimed, with `control` (its VMM fields filled; the rest is set up here). */
int vmm_api_start(struct vmm_api *api, const struct vm_config *config, const struct vm_control *control,
                  struct error *error);

/* Stops serving (idempotent): no callback runs after this. Unlinks the socket. */
void vmm_api_stop(struct vmm_api *api);
/* After vmm_api_stop. */
void vmm_api_destroy(struct vmm_api *api);

void vmm_api_describe(const struct vm_config *config, struct api_vm_description *description);

#endif

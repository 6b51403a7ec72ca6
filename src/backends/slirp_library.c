#include "backends/slirp_library.h"

#include "util/shared_library.h"

static struct slirp_library table;
static const struct shared_library_symbol symbols[] = {
    {"slirp_new", (void **)&table.create},
    {"slirp_cleanup", (void **)&table.cleanup},
    {"slirp_input", (void **)&table.input},
    {"slirp_add_hostfwd", (void **)&table.add_hostfwd},
    {"slirp_pollfds_fill", (void **)&table.pollfds_fill},
    {"slirp_pollfds_poll", (void **)&table.pollfds_poll},
};
/* Debian 12's libslirp0, what libslirp-dev's header describes. */
static struct shared_library library = SHARED_LIBRARY_INIT("libslirp.so.0", symbols);

const struct slirp_library *slirp_library_get(struct error *error)
{
    return shared_library_get(&library, "--net user", error) == 0 ? &table : NULL;
}

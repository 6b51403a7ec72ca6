#include "util/shared_library.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>

int shared_library_load(const char *soname, const struct shared_library_symbol *symbols, size_t count,
                        char *problem, size_t problem_size)
{
    /* RTLD_NOW: a missing symbol is found here, not at the first call in some thread. */
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(problem, problem_size, "cannot load %s: %.200s", soname, dlerror());
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        void *address = dlsym(handle, symbols[i].name);
        if (!address) {
            snprintf(problem, problem_size, "%s has no %s", soname, symbols[i].name);
            for (size_t j = 0; j < i; j++)
                *symbols[j].slot = NULL;
            dlclose(handle);
            return -1;
        }
        *symbols[i].slot = address;
    }
    return 0;
}

static atomic_bool sealed;

void shared_library_seal(void)
{
    atomic_store(&sealed, true);
}

int shared_library_get(struct shared_library *library, const char *purpose, struct error *error)
{
    pthread_mutex_lock(&library->lock);
    if (!library->tried && atomic_load(&sealed)) {
        /* Left untried: the refusal is the seal's, not the library's. */
        snprintf(library->problem, sizeof(library->problem),
                 "%s was not loaded before kestrel's sandbox went on, and cannot be now", library->soname);
    } else if (!library->tried) {
        library->tried = true;
        library->problem[0] = '\0';
        (void)shared_library_load(library->soname, library->symbols, library->count, library->problem,
                                  sizeof(library->problem));
    }
    bool loaded = library->problem[0] == '\0';
    pthread_mutex_unlock(&library->lock);
    if (loaded)
        return 0;
    return error_set(error, EXIT_STATUS_FAILURE, "%s: %s", purpose, library->problem);
}

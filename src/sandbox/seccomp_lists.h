#ifndef KESTREL_SANDBOX_SECCOMP_LISTS_H
#define KESTREL_SANDBOX_SECCOMP_LISTS_H

/* Private to src/sandbox/: the allow-list of each thread kind, as libseccomp rules. */

#include <seccomp.h>

#include "sandbox/sandbox.h"

/* Adds `kind`'s allow-list to `filter` (whose default action traps); 0 or a negative errno. */
int seccomp_lists_add(scmp_filter_ctx filter, enum thread_kind kind);

#endif

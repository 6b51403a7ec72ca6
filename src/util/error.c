#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

int error_set(struct error *error, int exit_status, const char *fmt, ...)
{
    if (!error)
        return -1;
    error->exit_status = exit_status;
    va_list args;
    va_start(args, fmt);
    vsnprintf(error->message, sizeof(error->message), fmt, args);
    va_end(args);
    return -1;
}

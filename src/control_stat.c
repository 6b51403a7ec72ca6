#include "control.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api_client.h"
#include "stats/stat_view.h"
#include "util/error.h"
#include "util/log.h"

enum { STAT_PATH_MAX = sizeof(((struct sockaddr_un *)0)->sun_path) };

/* GET /stats: the body (malloc'd), or NULL after a one-line error. */
static char *fetch(const char *path, const char *name)
{
    struct api_client_response response;
    struct error error = {0};
    bool refused = false;
    if (api_client_request_probe(path, "GET", "/stats", NULL, &response, &refused, &error) < 0) {
        if (refused)
            log_error("stat: VM '%s' is gone", name);
        else
            log_error("stat: %s", error.message);
        return NULL;
    }
    if (response.status != 200) {
        log_error("stat %s: GET /stats answered %ld", name, response.status);
        api_client_response_free(&response);
        return NULL;
    }
    return response.body; /* ownership moves to the caller */
}

static double monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int control_stat_main(int argc, char *const argv[])
{
    const char *name = NULL;
    bool once = false, json = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            once = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-' || name) {
            log_error("stat: unexpected '%s' (kestrel stat NAME [--once] [--json])", argv[i]);
            return EXIT_STATUS_USAGE;
        } else {
            name = argv[i];
        }
    }
    if (!name) {
        log_error("stat needs one VM name (kestrel stat NAME [--once] [--json])");
        return EXIT_STATUS_USAGE;
    }
    char path[STAT_PATH_MAX];
    int status = control_socket_for("stat", name, path, sizeof(path));
    if (status != EXIT_STATUS_OK)
        return status;
    bool clear = !json && !once && isatty(STDOUT_FILENO);
    char *before = fetch(path, name);
    double before_seconds = monotonic_seconds();
    if (!before)
        return EXIT_STATUS_FAILURE;
    for (;;) {
        sleep(1);
        char *after = fetch(path, name);
        double after_seconds = monotonic_seconds();
        if (!after) {
            free(before);
            return once ? EXIT_STATUS_FAILURE : EXIT_STATUS_OK; /* a live view ends with its VM */
        }
        struct error error = {0};
        char *text = stat_view_render(before, after, after_seconds - before_seconds,
                                      json ? STAT_VIEW_JSON : STAT_VIEW_TABLE, &error);
        free(before);
        before = after;
        before_seconds = after_seconds;
        if (!text) {
            log_error("stat %s: %s", name, error.message);
            free(before);
            return EXIT_STATUS_FAILURE;
        }
        if (clear)
            fputs("\033[H\033[2J", stdout);
        fputs(text, stdout);
        fflush(stdout);
        free(text);
        if (once) {
            free(before);
            return EXIT_STATUS_OK;
        }
    }
}

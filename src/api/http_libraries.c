#include "api/http_libraries.h"

#include "util/shared_library.h"

/* The sonames of Debian 12's libcurl4 and libmicrohttpd12, what the -dev packages' headers describe. */
static struct curl_library curl_table;
static const struct shared_library_symbol curl_symbols[] = {
    {"curl_global_init", (void **)&curl_table.global_init},
    {"curl_easy_init", (void **)&curl_table.easy_init},
    {"curl_easy_setopt", (void **)&curl_table.easy_setopt},
    {"curl_easy_perform", (void **)&curl_table.easy_perform},
    {"curl_easy_getinfo", (void **)&curl_table.easy_getinfo},
    {"curl_easy_cleanup", (void **)&curl_table.easy_cleanup},
    {"curl_easy_strerror", (void **)&curl_table.easy_strerror},
    {"curl_slist_append", (void **)&curl_table.slist_append},
    {"curl_slist_free_all", (void **)&curl_table.slist_free_all},
};
static struct shared_library curl_library = SHARED_LIBRARY_INIT("libcurl.so.4", curl_symbols);

static struct microhttpd_library microhttpd_table;
static const struct shared_library_symbol microhttpd_symbols[] = {
    {"MHD_start_daemon", (void **)&microhttpd_table.start_daemon},
    {"MHD_stop_daemon", (void **)&microhttpd_table.stop_daemon},
    {"MHD_lookup_connection_value", (void **)&microhttpd_table.lookup_connection_value},
    {"MHD_create_response_from_buffer", (void **)&microhttpd_table.create_response_from_buffer},
    {"MHD_add_response_header", (void **)&microhttpd_table.add_response_header},
    {"MHD_queue_response", (void **)&microhttpd_table.queue_response},
    {"MHD_destroy_response", (void **)&microhttpd_table.destroy_response},
};
static struct shared_library microhttpd_library = SHARED_LIBRARY_INIT("libmicrohttpd.so.12", microhttpd_symbols);

const struct curl_library *http_library_curl(struct error *error)
{
    return shared_library_get(&curl_library, "the API client", error) == 0 ? &curl_table : NULL;
}

const struct microhttpd_library *http_library_microhttpd(struct error *error)
{
    return shared_library_get(&microhttpd_library, "the API server", error) == 0 ? &microhttpd_table : NULL;
}

#ifndef KESTREL_API_HTTP_LIBRARIES_H
#define KESTREL_API_HTTP_LIBRARIES_H

/*
 * libcurl (the API client: kestrel list, pause, ...) and libmicrohttpd (the
 * API server of --api-sock/--name), loaded with dlopen the first time they are
 * needed instead of being linked. Linked, they and what they pull in (GnuTLS,
 * OpenSSL's libcrypto, Kerberos, LDAP, ...) cost every exec of kestrel about
 * 11 ms in the dynamic loader and their constructors, four fifths of the whole
 * 5 ms budget of exec -> first KVM_RUN twice over (docs/benchmarks.md), for a
 * VM that never uses them. Each table is loaded once per process (thread-safe)
 * and then stays; a failure is reported every time it is asked for.
 *
 * The headers give the types only; each member has the type of the library
 * function it stands for.
 */

#include <curl/curl.h>
#include <microhttpd.h>

#include "util/error.h"

struct curl_library {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_perform) *easy_perform;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
};

struct microhttpd_library {
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
};

/* The loaded table, or NULL with `error` set (EXIT_STATUS_FAILURE) naming the library and why. */
const struct curl_library *http_library_curl(struct error *error);
const struct microhttpd_library *http_library_microhttpd(struct error *error);

#endif

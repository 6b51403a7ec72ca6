#ifndef KESTREL_TESTS_UNIT_PROMETHEUS_CHECK_H
#define KESTREL_TESTS_UNIT_PROMETHEUS_CHECK_H

/*
 * A strict checker of the Prometheus text exposition format (0.0.4), for
 * GET /metrics (Debian's promtool comes with the whole Prometheus server).
 * Stricter than the format where kestrel promises more: every family has
 * # HELP then # TYPE before its samples, its samples follow at once, counters
 * end in _total, and no series appears twice. Returns NULL when the text
 * passes, else a static description of the first fault (with its line in
 * `line`).
 */

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PROMETHEUS_CHECK_MAX_SERIES = 4096, PROMETHEUS_CHECK_MAX_LINE = 1024 };

static inline bool prometheus_name_ok(const char *name, size_t length, bool metric)
{
    if (length == 0)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        bool ok = isalpha((unsigned char)c) || c == '_' || (metric && c == ':') || (i > 0 && isdigit((unsigned char)c));
        if (!ok)
            return false;
    }
    return true;
}

static inline bool prometheus_ends_with(const char *text, size_t length, const char *suffix)
{
    size_t suffix_length = strlen(suffix);
    return length >= suffix_length && memcmp(text + length - suffix_length, suffix, suffix_length) == 0;
}

/* Checks `{a="x",b="y"}` at *cursor; advances past it. */
static inline const char *prometheus_labels(const char **cursor, bool summary, bool *has_quantile)
{
    const char *c = *cursor;
    char seen[16][64];
    unsigned seen_count = 0;
    *has_quantile = false;
    c++; /* '{' */
    while (*c != '}') {
        const char *name = c;
        while (*c && *c != '=')
            c++;
        size_t length = (size_t)(c - name);
        if (*c != '=' || !prometheus_name_ok(name, length, false) || length >= 64 || c[1] != '"')
            return "bad label name";
        for (unsigned i = 0; i < seen_count; i++)
            if (strlen(seen[i]) == length && memcmp(seen[i], name, length) == 0)
                return "repeated label";
        if (seen_count >= 16)
            return "too many labels";
        memcpy(seen[seen_count], name, length);
        seen[seen_count++][length] = 0;
        if (length == 8 && memcmp(name, "quantile", 8) == 0) {
            if (!summary)
                return "quantile label outside a summary";
            *has_quantile = true;
        }
        c += 2;
        while (*c != '"') {
            if (*c == 0 || *c == '\n')
                return "unterminated label value";
            if (*c == '\\') {
                if (c[1] != '\\' && c[1] != '"' && c[1] != 'n')
                    return "bad escape in label value";
                c++;
            }
            c++;
        }
        c++;
        if (*c == ',')
            c++;
        else if (*c != '}')
            return "labels not separated by commas";
    }
    *cursor = c + 1;
    return NULL;
}

static inline bool prometheus_value_ok(const char *text)
{
    if (strcmp(text, "+Inf") == 0 || strcmp(text, "-Inf") == 0 || strcmp(text, "NaN") == 0)
        return true;
    char *end;
    if (!*text || isspace((unsigned char)*text))
        return false;
    (void)strtod(text, &end);
    return *end == 0;
}

static inline const char *prometheus_check(const char *text, unsigned *line)
{
    static char series[PROMETHEUS_CHECK_MAX_SERIES][256];
    unsigned series_count = 0;
    char family[128] = "", type[32] = "", help_for[128] = "";
    char families[256][128];
    unsigned family_count = 0;
    bool samples_closed = true; /* a family's samples must follow its TYPE without a gap */
    *line = 0;
    if (!*text || text[strlen(text) - 1] != '\n')
        return "text does not end with a newline";
    for (const char *start = text; *start; *line += 1) {
        const char *end = strchr(start, '\n');
        size_t length = (size_t)(end - start);
        char buffer[PROMETHEUS_CHECK_MAX_LINE];
        if (length == 0)
            return "empty line";
        if (length >= sizeof(buffer))
            return "line too long";
        memcpy(buffer, start, length);
        buffer[length] = 0;
        start = end + 1;
        if (strncmp(buffer, "# HELP ", 7) == 0) {
            const char *name = buffer + 7, *space = strchr(name, ' ');
            if (!space || !prometheus_name_ok(name, (size_t)(space - name), true) || (size_t)(space - name) >= 128 ||
                !space[1])
                return "bad HELP line";
            memcpy(help_for, name, (size_t)(space - name));
            help_for[space - name] = 0;
            for (unsigned i = 0; i < family_count; i++)
                if (strcmp(families[i], help_for) == 0)
                    return "family declared twice";
            samples_closed = true;
            continue;
        }
        if (strncmp(buffer, "# TYPE ", 7) == 0) {
            char name[128], kind[32];
            if (sscanf(buffer + 7, "%127s %31s", name, kind) != 2 || strcmp(name, help_for) != 0)
                return "TYPE without its HELP just before";
            if (strcmp(kind, "counter") && strcmp(kind, "gauge") && strcmp(kind, "summary") &&
                strcmp(kind, "histogram") && strcmp(kind, "untyped"))
                return "unknown TYPE";
            if (strcmp(kind, "counter") == 0 && !prometheus_ends_with(name, strlen(name), "_total"))
                return "counter name does not end in _total";
            if (family_count >= 256)
                return "too many families";
            snprintf(families[family_count++], 128, "%s", name);
            snprintf(family, sizeof(family), "%s", name);
            snprintf(type, sizeof(type), "%s", kind);
            help_for[0] = 0;
            samples_closed = false;
            continue;
        }
        if (buffer[0] == '#')
            return "unknown comment line";
        if (samples_closed || !family[0])
            return "sample outside its family";
        const char *cursor = buffer;
        while (*cursor && *cursor != '{' && *cursor != ' ')
            cursor++;
        size_t name_length = (size_t)(cursor - buffer);
        bool summary = strcmp(type, "summary") == 0;
        bool base = name_length == strlen(family) && memcmp(buffer, family, name_length) == 0;
        bool suffix = false;
        if (summary && name_length > strlen(family) && memcmp(buffer, family, strlen(family)) == 0)
            suffix = strcmp(buffer + strlen(family), "_sum") == 0 || strncmp(buffer + strlen(family), "_sum{", 5) == 0 ||
                     strncmp(buffer + strlen(family), "_sum ", 5) == 0 || strncmp(buffer + strlen(family), "_count", 6) == 0;
        if (!prometheus_name_ok(buffer, name_length, true) || !(base || suffix))
            return "sample name does not belong to its family";
        bool has_quantile = false;
        if (*cursor == '{') {
            const char *fault = prometheus_labels(&cursor, summary && base, &has_quantile);
            if (fault)
                return fault;
        }
        if (summary && base && !has_quantile)
            return "summary sample without a quantile";
        if (*cursor != ' ')
            return "no space before the value";
        size_t key_length = (size_t)(cursor - buffer);
        if (key_length >= 256 || series_count >= PROMETHEUS_CHECK_MAX_SERIES)
            return "series key too long or too many series";
        for (unsigned i = 0; i < series_count; i++)
            if (strlen(series[i]) == key_length && memcmp(series[i], buffer, key_length) == 0)
                return "series repeated";
        memcpy(series[series_count], buffer, key_length);
        series[series_count++][key_length] = 0;
        if (!prometheus_value_ok(cursor + 1))
            return "value is not a number";
    }
    return NULL;
}

#endif

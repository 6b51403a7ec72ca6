#ifndef KESTREL_STATS_STAT_VIEW_TABLE_H
#define KESTREL_STATS_STAT_VIEW_TABLE_H

/*
 * The two ways `kestrel stat` prints the rates stat_view.c computed (a json-c
 * object of the --json shape, docs/stats.md): that JSON, or the table.
 */

#include <json-c/json.h>

/* malloc'd, ending in a newline; NULL when out of memory. */
char *stat_view_json_text(struct json_object *result);
char *stat_view_table_text(struct json_object *result);

#endif

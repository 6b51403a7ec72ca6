#ifndef KESTREL_TRACE_BLOCK_TRACE_WRITER_H
#define KESTREL_TRACE_BLOCK_TRACE_WRITER_H

/*
 * Writes one disk's block I/O trace (block_trace_format.h) without a
 * syscall per request and without ever blocking an I/O thread.
 *
 * Each queue has its own bounded ring of records with one producer, the I/O
 * thread serving that queue; a writer thread of the trace drains the rings
 * every 100 ms, or sooner when one is half full, and writes whole batches.
 * A record that finds its ring full is dropped and counted (the header's
 * dropped_count), so a slow trace disk costs records, not guest I/O.
 *
 * Lifecycle:
 *   create   checks PATH and creates the file unnamed in its directory
 *            (O_TMPFILE, else under a temporary name): nothing is at PATH yet,
 *            so a later usage error leaves nothing behind
 *   start    takes the clock's origin, writes the header, puts the file at
 *            PATH (replacing what was there) and starts the writer thread
 *   add      from the I/O threads, between start and close
 *   close    after the I/O threads stopped: writes what is buffered and the
 *            final counts; without start it removes the file
 */

#include <stdbool.h>
#include <stdint.h>

#include "trace/block_trace_format.h"
#include "util/error.h"

struct block_trace_writer;

/* Errors about PATH are EXIT_STATUS_USAGE: a missing directory, a directory, an unwritable file or directory. */
struct block_trace_writer *block_trace_writer_create(const char *path, struct error *error);

int block_trace_writer_start(struct block_trace_writer *writer, uint64_t disk_size, unsigned queue_count,
                             struct error *error);

/* CLOCK_MONOTONIC in ns, the clock of add's times. */
uint64_t block_trace_clock_ns(void);

/*
 * One request's record. `submitted_ns` and `completed_ns` are
 * block_trace_clock_ns() readings; `record`'s time_ns and latency_ns are
 * filled from them. Only the thread serving record->queue calls this.
 */
void block_trace_writer_add(struct block_trace_writer *writer, struct block_trace_record *record,
                            uint64_t submitted_ns, uint64_t completed_ns);

/* Records dropped so far (a full ring or a failed write). */
uint64_t block_trace_writer_dropped(struct block_trace_writer *writer);

/* The file's descriptor: the VMM compares it with the disk images. */
int block_trace_writer_fd(const struct block_trace_writer *writer);

void block_trace_writer_close(struct block_trace_writer *writer);

#ifdef KESTREL_TEST_SEAMS
/* Tests: the ring capacity in records (a power of two) for writers created from now on; 0 restores the default. */
void block_trace_writer_set_ring_capacity(unsigned capacity);
/* Tests: while paused the writer thread leaves the rings alone (close still drains them), so a test can fill one. */
void block_trace_writer_pause_draining(bool paused);
#endif

#endif

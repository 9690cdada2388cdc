/* frame.h: the wire between master and worker. A frame is a 4-byte big-endian payload length,
 * then that many bytes (one msgpack map, see proto.h). The length is checked against a maximum
 * before anything is allocated; end of stream inside a frame is BF_ETRUNCATED.
 *
 * Reading (works on non-blocking fds inside a poll loop):
 *   struct frame_reader r; frame_reader_init(&r, FRAME_MAX);
 *   on POLLIN: while ((rc = frame_read(&r, fd)) == 1) { p = frame_payload(&r, &n); ...; }
 *              rc == 0: wait for more; rc < 0: BF_EEOF / BF_ETRUNCATED / BF_ETOOBIG / -errno.
 *   frame_reader_release(&r);
 * frame_feed() does the same from a memory buffer (tests, fuzzing).
 *
 * Writing: frame_write() blocks until the whole frame is written (worker side). The master uses a
 * struct frame_writer per worker: frame_writer_push() queues, frame_writer_flush() writes what the
 * non-blocking fd accepts (call it on POLLOUT); the worker queues a batch of results the same way
 * and frame_writer_drain() writes it, blocking. */
#ifndef BF_FRAME_H
#define BF_FRAME_H

#include "compat.h"

#define FRAME_HDR 4u
#define FRAME_MAX (64u << 20) /* 64 MiB */

struct frame_reader {
    uint32_t max;
    uint8_t hdr[FRAME_HDR];
    uint32_t hdr_got;
    uint32_t len;       /* payload length of the frame being read */
    uint32_t got;       /* payload bytes read so far */
    uint8_t *buf;       /* grows to the largest frame seen */
    uint32_t cap;
    bool ready;         /* a whole frame is in buf */
    uint8_t *in;        /* frame_read's read-ahead (FRAME_READAHEAD bytes, lazily allocated): one */
    uint32_t in_off, in_len; /* read(2) can bring many small frames; in[in_off..in_len) is unparsed */
};
#define FRAME_READAHEAD (64u << 10)

void frame_reader_init(struct frame_reader *r, uint32_t max);
void frame_reader_release(struct frame_reader *r);
/* 1: a frame is ready (frame_payload); 0: need more input; <0: error or BF_EEOF. */
int frame_read(struct frame_reader *r, int fd);
/* Same from memory: consumes up to n bytes, *used says how many. At end of input call
 * frame_feed_eof() to learn BF_EEOF or BF_ETRUNCATED. */
int frame_feed(struct frame_reader *r, const uint8_t *p, size_t n, size_t *used);
int frame_feed_eof(const struct frame_reader *r);
const uint8_t *frame_payload(const struct frame_reader *r, uint32_t *len);

int frame_write(int fd, const void *payload, uint32_t len);

struct frame_writer {
    uint8_t *buf;
    size_t len, off, cap;
};
void frame_writer_init(struct frame_writer *w);
void frame_writer_release(struct frame_writer *w);
int frame_writer_push(struct frame_writer *w, const void *payload, uint32_t len);
/* 1: everything written; 0: bytes remain (wait for POLLOUT); <0: -errno (EPIPE: worker gone). */
int frame_writer_flush(struct frame_writer *w, int fd);
/* Writes everything queued, waiting as frame_write() does (the worker's batches of results:
 * many frames in one system call). 0, or <0: -errno. */
int frame_writer_drain(struct frame_writer *w, int fd);
static inline bool frame_writer_pending(const struct frame_writer *w) { return w->off < w->len; }

#endif

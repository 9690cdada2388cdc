/* frame.c: length-prefixed frames over pipes (frame.h). A frame is a 4-byte big-endian payload
 * length, then the payload. The reader is a byte-driven state machine (frame_feed) shared by the
 * fd reader and the in-memory reader; the length is checked against the reader's maximum before
 * the payload buffer grows.
 *
 * Decisions:
 * - A zero-length frame is a valid frame at this layer (frame_read returns 1 with len 0); it is
 *   not a valid message, and msg_decode() rejects it.
 * - frame_read() reads ahead up to FRAME_READAHEAD bytes per read(2), so a burst of small
 *   frames (results) costs one system call, not two per frame. It only calls read(2) when no
 *   whole frame is buffered, so on a blocking fd it blocks only when it needs more bytes, and
 *   on a non-blocking fd it returns 0 only after read(2) said EAGAIN (level-triggered poll
 *   stays correct). Payload bytes of a large frame are read straight into its buffer.
 * - Errors are sticky: after BF_ETOOBIG the stream is out of step and every later call says so.
 * - Writers: frame_write() (blocking, waits with poll() on a non-blocking fd) and the queued
 *   struct frame_writer for the master's poll loop. Both refuse payloads above FRAME_MAX.
 *   EPIPE comes back as -EPIPE: callers ignore SIGPIPE. */
#include "compat.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "frame.h"

/* A flushed writer keeps its buffer for reuse up to this size, and frees a bigger one. */
#define FRAME_WRITER_KEEP (1u << 20)

void frame_reader_init(struct frame_reader *r, uint32_t max)
{
    memset(r, 0, sizeof *r);
    r->max = max;
}

void frame_reader_release(struct frame_reader *r)
{
    free(r->buf);
    free(r->in);
    uint32_t max = r->max;
    memset(r, 0, sizeof *r);
    r->max = max;
}

static uint32_t frame_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void frame_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Forgets the frame just returned, so the next bytes start a new header. */
static void frame_reader_next(struct frame_reader *r)
{
    r->ready = false;
    r->hdr_got = 0;
    r->len = 0;
    r->got = 0;
}

static bool frame_reader_too_big(const struct frame_reader *r)
{
    return r->hdr_got == FRAME_HDR && r->len > r->max;
}

/* The header is complete: check the length, then make room for the payload. */
static int frame_reader_begin_payload(struct frame_reader *r)
{
    r->len = frame_get_be32(r->hdr);
    r->got = 0;
    if (r->len > r->max) return BF_ETOOBIG;
    if (r->len > r->cap) {
        uint8_t *nb = realloc(r->buf, r->len);
        if (!nb) return BF_ENOMEM;
        r->buf = nb;
        r->cap = r->len;
    }
    return 0;
}

int frame_feed(struct frame_reader *r, const uint8_t *p, size_t n, size_t *used)
{
    size_t off = 0;
    *used = 0;
    if (r->ready) frame_reader_next(r);
    if (frame_reader_too_big(r)) return BF_ETOOBIG;
    while (r->hdr_got < FRAME_HDR) {
        if (off == n) return 0;
        r->hdr[r->hdr_got++] = p[off++];
        *used = off;
        if (r->hdr_got == FRAME_HDR) {
            int rc = frame_reader_begin_payload(r);
            if (rc < 0) return rc;
        }
    }
    size_t want = r->len - r->got;
    size_t take = n - off < want ? n - off : want;
    if (take) memcpy(r->buf + r->got, p + off, take);
    r->got += (uint32_t)take;
    off += take;
    *used = off;
    if (r->got < r->len) return 0;
    r->ready = true;
    return 1;
}

int frame_feed_eof(const struct frame_reader *r)
{
    if (r->ready || r->hdr_got == 0) return BF_EEOF;
    if (frame_reader_too_big(r)) return BF_ETOOBIG;
    return BF_ETRUNCATED;
}

const uint8_t *frame_payload(const struct frame_reader *r, uint32_t *len)
{
    static const uint8_t empty[1];
    *len = r->ready ? r->len : 0;
    return r->ready && r->buf ? r->buf : empty;
}

/* read(2) retried on EINTR: bytes read, 0 at end of stream, -errno. */
static ssize_t frame_read_some(int fd, void *dst, size_t n)
{
    for (;;) {
        ssize_t k = read(fd, dst, n);
        if (k >= 0) return k;
        if (errno != EINTR) return -errno;
    }
}

/* Feeds what the read-ahead holds. */
static int frame_reader_drain(struct frame_reader *r)
{
    if (r->in_off == r->in_len) return 0;
    size_t used = 0;
    int rc = frame_feed(r, r->in + r->in_off, r->in_len - r->in_off, &used);
    r->in_off += (uint32_t)used;
    return rc;
}

/* Reads more bytes: straight into the payload when a large part of it is missing, else into
 * the read-ahead. 1: got bytes, 0: EAGAIN, <0: end of stream or error. */
static int frame_reader_fill(struct frame_reader *r, int fd)
{
    ssize_t k;
    if (r->hdr_got == FRAME_HDR && !r->ready && r->len - r->got >= FRAME_READAHEAD) {
        k = frame_read_some(fd, r->buf + r->got, r->len - r->got);
        if (k > 0) {
            r->got += (uint32_t)k;
            if (r->got == r->len) r->ready = true;
            return 1;
        }
    } else {
        if (!r->in) {
            r->in = malloc(FRAME_READAHEAD);
            if (!r->in) return BF_ENOMEM;
        }
        k = frame_read_some(fd, r->in, FRAME_READAHEAD);
        if (k > 0) {
            r->in_off = 0;
            r->in_len = (uint32_t)k;
            return 1;
        }
    }
    if (k == 0) return frame_feed_eof(r);
    if (k == -EAGAIN || k == -EWOULDBLOCK) return 0;
    return (int)k;
}

int frame_read(struct frame_reader *r, int fd)
{
    if (r->ready) frame_reader_next(r);
    for (;;) {
        int rc = frame_reader_drain(r);
        if (rc != 0) return rc;
        if (frame_reader_too_big(r)) return BF_ETOOBIG;
        rc = frame_reader_fill(r, fd);
        if (rc <= 0) return rc;
        if (r->ready) return 1; /* the direct payload read completed the frame */
    }
}

/* Waits until fd is writable (for frame_write on a non-blocking fd). */
static int frame_wait_writable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT, .revents = 0 };
    for (;;) {
        int k = poll(&pfd, 1, -1);
        if (k >= 0) return 0;
        if (errno != EINTR) return -errno;
    }
}

int frame_write(int fd, const void *payload, uint32_t len)
{
    if (len > FRAME_MAX) return BF_ETOOBIG;
    uint8_t hdr[FRAME_HDR];
    frame_put_be32(hdr, len);
    struct iovec iov[2] = {
        { .iov_base = hdr, .iov_len = FRAME_HDR },
        { .iov_base = (void *)(uintptr_t)payload, .iov_len = len },
    };
    int first = 0;
    while (first < 2) {
        ssize_t k = writev(fd, iov + first, 2 - first);
        if (k < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int rc = frame_wait_writable(fd);
                if (rc < 0) return rc;
                continue;
            }
            return -errno;
        }
        size_t done = (size_t)k;
        while (first < 2 && done >= iov[first].iov_len) {
            done -= iov[first].iov_len;
            iov[first].iov_len = 0;
            first++;
        }
        if (first < 2) {
            iov[first].iov_base = (uint8_t *)iov[first].iov_base + done;
            iov[first].iov_len -= done;
        }
    }
    return 0;
}

void frame_writer_init(struct frame_writer *w)
{
    memset(w, 0, sizeof *w);
}

void frame_writer_release(struct frame_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

/* Makes room for n more bytes, first dropping what was already written. */
static int frame_writer_reserve(struct frame_writer *w, size_t n)
{
    if (w->off > 0) {
        memmove(w->buf, w->buf + w->off, w->len - w->off);
        w->len -= w->off;
        w->off = 0;
    }
    if (w->cap - w->len >= n) return 0;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2) return BF_ENOMEM;
        cap *= 2;
    }
    uint8_t *nb = realloc(w->buf, cap);
    if (!nb) return BF_ENOMEM;
    w->buf = nb;
    w->cap = cap;
    return 0;
}

int frame_writer_push(struct frame_writer *w, const void *payload, uint32_t len)
{
    if (len > FRAME_MAX) return BF_ETOOBIG;
    int rc = frame_writer_reserve(w, FRAME_HDR + (size_t)len);
    if (rc < 0) return rc;
    frame_put_be32(w->buf + w->len, len);
    if (len) memcpy(w->buf + w->len + FRAME_HDR, payload, len);
    w->len += FRAME_HDR + (size_t)len;
    return 0;
}

/* Everything was written: reuse the buffer, or give a big one back. */
static void frame_writer_reset(struct frame_writer *w)
{
    w->len = w->off = 0;
    if (w->cap > FRAME_WRITER_KEEP) {
        free(w->buf);
        w->buf = NULL;
        w->cap = 0;
    }
}

int frame_writer_flush(struct frame_writer *w, int fd)
{
    while (w->off < w->len) {
        ssize_t k = write(fd, w->buf + w->off, w->len - w->off);
        if (k < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -errno;
        }
        w->off += (size_t)k;
    }
    frame_writer_reset(w);
    return 1;
}

int frame_writer_drain(struct frame_writer *w, int fd)
{
    for (;;) {
        int rc = frame_writer_flush(w, fd);
        if (rc != 0) return rc < 0 ? rc : 0;
        rc = frame_wait_writable(fd);
        if (rc < 0) return rc;
    }
}

/* check_wire.c: the wire (common/frame.c, common/msg.c): frames through memory and real
 * non-blocking pipes, truncation, oversized lengths, every message type round-tripped, and decoding
 * of hostile payloads (hand-made, every prefix, every bit flip, random bytes).
 *
 * `check_wire --write-seeds DIR` writes the fuzz seeds of fuzz_frame (one framed message per type,
 * and all of them in one stream) instead of testing: tests/fuzz/seeds/fuzz_frame was made that way. */
#include "compat.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "primtab.h"
#include "proto.h"

/* ---- helpers ---- */

static void make_pipe(int fds[2], bool nonblock_read, bool nonblock_write)
{
    ck_assert_int_eq(pipe(fds), 0);
    if (nonblock_read) ck_assert_int_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    if (nonblock_write) ck_assert_int_eq(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
}

static void write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        ck_assert_int_gt(k, 0);
        b += k;
        n -= (size_t)k;
    }
}

/* A deterministic pseudo-random generator (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* The frames of payloads p[i] of lengths n[i], concatenated, as a frame_writer builds them. */
static uint8_t *frames_of(const uint8_t *const *p, const uint32_t *n, int count, size_t *total)
{
    struct frame_writer w;
    frame_writer_init(&w);
    for (int i = 0; i < count; i++) ck_assert_int_eq(frame_writer_push(&w, p[i], n[i]), 0);
    *total = w.len;
    uint8_t *out = malloc(w.len);
    ck_assert_ptr_nonnull(out);
    memcpy(out, w.buf, w.len);
    frame_writer_release(&w);
    return out;
}

/* ---- frames in memory ---- */

START_TEST(test_frame_header_layout)
{
    static const uint8_t payload[] = { 'a', 'b', 'c' };
    const uint8_t *p[] = { payload };
    uint32_t n[] = { 3 };
    size_t total;
    uint8_t *bytes = frames_of(p, n, 1, &total);
    static const uint8_t want[] = { 0, 0, 0, 3, 'a', 'b', 'c' };
    ck_assert_uint_eq(total, sizeof want);
    ck_assert_mem_eq(bytes, want, sizeof want);
    free(bytes);
}
END_TEST

/* Feeds the stream in chunks of `chunk` bytes and checks the payloads come back in order. */
static void feed_in_chunks(const uint8_t *bytes, size_t total, size_t chunk, const uint8_t *const *p,
                           const uint32_t *n, int count)
{
    struct frame_reader r;
    frame_reader_init(&r, FRAME_MAX);
    int got = 0;
    size_t off = 0;
    while (off < total) {
        size_t len = total - off < chunk ? total - off : chunk;
        size_t used = 0;
        int rc = frame_feed(&r, bytes + off, len, &used);
        ck_assert_int_ge(rc, 0);
        ck_assert_uint_le(used, len);
        off += used;
        if (rc == 1) {
            uint32_t plen;
            const uint8_t *pl = frame_payload(&r, &plen);
            ck_assert_int_lt(got, count);
            ck_assert_uint_eq(plen, n[got]);
            if (plen) ck_assert_mem_eq(pl, p[got], plen);
            got++;
        } else {
            ck_assert_uint_eq(used, len); /* 0 means everything was taken */
        }
    }
    ck_assert_int_eq(got, count);
    ck_assert_int_eq(frame_feed_eof(&r), BF_EEOF);
    frame_reader_release(&r);
}

START_TEST(test_frame_feed_chunks)
{
    uint8_t big[5000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)rng();
    static const uint8_t one[] = { 42 };
    const uint8_t *p[] = { one, big, (const uint8_t *)"", big + 7, one };
    uint32_t n[] = { 1, sizeof big, 0, 300, 1 };
    size_t total;
    uint8_t *bytes = frames_of(p, n, 5, &total);
    static const size_t chunks[] = { 1, 2, 3, 4, 5, 7, 64, 4096, 1 << 20 };
    for (size_t c = 0; c < BF_ARRAY_LEN(chunks); c++) feed_in_chunks(bytes, total, chunks[c], p, n, 5);
    free(bytes);
}
END_TEST

START_TEST(test_frame_truncated_in_memory)
{
    static const uint8_t payload[] = { 1, 2, 3, 4, 5, 6 };
    const uint8_t *p[] = { payload };
    uint32_t n[] = { sizeof payload };
    size_t total;
    uint8_t *bytes = frames_of(p, n, 1, &total);
    for (size_t cut = 1; cut < total; cut++) { /* every cut inside the header or the payload */
        struct frame_reader r;
        frame_reader_init(&r, FRAME_MAX);
        size_t used;
        ck_assert_int_eq(frame_feed(&r, bytes, cut, &used), 0);
        ck_assert_uint_eq(used, cut);
        ck_assert_int_eq(frame_feed_eof(&r), BF_ETRUNCATED);
        frame_reader_release(&r);
    }
    struct frame_reader r;
    frame_reader_init(&r, FRAME_MAX);
    ck_assert_int_eq(frame_feed_eof(&r), BF_EEOF); /* nothing at all: a clean end */
    frame_reader_release(&r);
    free(bytes);
}
END_TEST

START_TEST(test_frame_too_big)
{
    struct frame_reader r;
    frame_reader_init(&r, 1000);
    static const uint8_t at_max[] = { 0, 0, 0x03, 0xe8 };   /* 1000: accepted */
    static const uint8_t above[] = { 0, 0, 0x03, 0xe9 };    /* 1001: refused */
    static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff };
    size_t used;
    ck_assert_int_eq(frame_feed(&r, at_max, 4, &used), 0);
    ck_assert_uint_eq(r.cap, 1000);
    frame_reader_release(&r);

    frame_reader_init(&r, 1000);
    ck_assert_int_eq(frame_feed(&r, above, 4, &used), BF_ETOOBIG);
    ck_assert_ptr_null(r.buf); /* refused before anything was allocated */
    ck_assert_int_eq(frame_feed(&r, at_max, 4, &used), BF_ETOOBIG); /* and it stays refused */
    ck_assert_int_eq(frame_feed_eof(&r), BF_ETOOBIG);
    frame_reader_release(&r);

    frame_reader_init(&r, FRAME_MAX);
    ck_assert_int_eq(frame_feed(&r, huge, 4, &used), BF_ETOOBIG);
    ck_assert_ptr_null(r.buf);
    frame_reader_release(&r);

    /* writers refuse what no reader takes */
    struct frame_writer w;
    frame_writer_init(&w);
    ck_assert_int_eq(frame_writer_push(&w, "", FRAME_MAX + 1), BF_ETOOBIG);
    ck_assert_uint_eq(w.len, 0);
    frame_writer_release(&w);
    ck_assert_int_eq(frame_write(-1, "", FRAME_MAX + 1), BF_ETOOBIG);
}
END_TEST

/* ---- frames through pipes ---- */

START_TEST(test_frame_pipe_one_byte_at_a_time)
{
    int fds[2];
    make_pipe(fds, true, false);
    uint8_t mid[300];
    for (size_t i = 0; i < sizeof mid; i++) mid[i] = (uint8_t)i;
    const uint8_t *p[] = { (const uint8_t *)"hello", mid, (const uint8_t *)"" };
    uint32_t n[] = { 5, sizeof mid, 0 };
    size_t total;
    uint8_t *bytes = frames_of(p, n, 3, &total);
    struct frame_reader r;
    frame_reader_init(&r, FRAME_MAX);
    ck_assert_int_eq(frame_read(&r, fds[0]), 0); /* nothing yet: EAGAIN */
    int got = 0;
    for (size_t i = 0; i < total; i++) {
        write_all(fds[1], bytes + i, 1);
        int rc = frame_read(&r, fds[0]);
        ck_assert_int_ge(rc, 0);
        if (rc == 1) {
            uint32_t len;
            const uint8_t *pl = frame_payload(&r, &len);
            ck_assert_uint_eq(len, n[got]);
            if (len) ck_assert_mem_eq(pl, p[got], len);
            got++;
            ck_assert_int_eq(frame_read(&r, fds[0]), 0);
        }
    }
    ck_assert_int_eq(got, 3);
    close(fds[1]);
    ck_assert_int_eq(frame_read(&r, fds[0]), BF_EEOF);
    close(fds[0]);
    frame_reader_release(&r);
    free(bytes);
}
END_TEST

START_TEST(test_frame_pipe_burst)
{
    /* many small frames in one read(2): each frame_read returns the next without losing any */
    int fds[2];
    make_pipe(fds, true, false);
    struct frame_writer w;
    frame_writer_init(&w);
    for (uint32_t i = 0; i < 1000; i++) ck_assert_int_eq(frame_writer_push(&w, &i, sizeof i), 0);
    ck_assert_int_eq(frame_writer_flush(&w, fds[1]), 1);
    ck_assert(!frame_writer_pending(&w));
    struct frame_reader r;
    frame_reader_init(&r, 64);
    uint32_t want = 0;
    int rc;
    while ((rc = frame_read(&r, fds[0])) == 1) {
        uint32_t len, v;
        const uint8_t *pl = frame_payload(&r, &len);
        ck_assert_uint_eq(len, 4);
        memcpy(&v, pl, 4);
        ck_assert_uint_eq(v, want++);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(want, 1000);
    close(fds[1]);
    ck_assert_int_eq(frame_read(&r, fds[0]), BF_EEOF);
    close(fds[0]);
    frame_reader_release(&r);
    frame_writer_release(&w);
}
END_TEST

START_TEST(test_frame_pipe_truncated)
{
    static const uint8_t partial[] = { 0, 0, 0, 10, 1, 2, 3 }; /* 10 bytes announced, 3 sent */
    int fds[2];
    make_pipe(fds, true, false);
    write_all(fds[1], partial, sizeof partial);
    struct frame_reader r;
    frame_reader_init(&r, FRAME_MAX);
    ck_assert_int_eq(frame_read(&r, fds[0]), 0);
    close(fds[1]);
    ck_assert_int_eq(frame_read(&r, fds[0]), BF_ETRUNCATED);
    close(fds[0]);
    frame_reader_release(&r);

    /* EOF inside the header */
    make_pipe(fds, false, false);
    write_all(fds[1], partial, 2);
    close(fds[1]);
    frame_reader_init(&r, FRAME_MAX);
    ck_assert_int_eq(frame_read(&r, fds[0]), BF_ETRUNCATED);
    close(fds[0]);
    frame_reader_release(&r);

    /* a length above the maximum, through a pipe */
    make_pipe(fds, true, false);
    static const uint8_t huge[] = { 0x7f, 0, 0, 0, 1, 2 };
    write_all(fds[1], huge, sizeof huge);
    frame_reader_init(&r, FRAME_MAX);
    ck_assert_int_eq(frame_read(&r, fds[0]), BF_ETOOBIG);
    ck_assert_ptr_null(r.buf);
    ck_assert_int_eq(frame_read(&r, fds[0]), BF_ETOOBIG);
    close(fds[0]);
    close(fds[1]);
    frame_reader_release(&r);
}
END_TEST

START_TEST(test_frame_writer_partial_and_epipe)
{
    signal(SIGPIPE, SIG_IGN);
    int fds[2];
    make_pipe(fds, true, true);
    size_t big = 3u << 20; /* far above a pipe's capacity */
    uint8_t *payload = malloc(big);
    ck_assert_ptr_nonnull(payload);
    for (size_t i = 0; i < big; i++) payload[i] = (uint8_t)(i * 7);
    struct frame_writer w;
    frame_writer_init(&w);
    ck_assert_int_eq(frame_writer_push(&w, payload, (uint32_t)big), 0);
    ck_assert_int_eq(frame_writer_push(&w, "tail", 4), 0);
    struct frame_reader r;
    frame_reader_init(&r, FRAME_MAX);
    int frames = 0, flushes = 0, rc;
    while (frames < 2) {
        int f = frame_writer_flush(&w, fds[1]);
        ck_assert_int_ge(f, 0);
        flushes++;
        while ((rc = frame_read(&r, fds[0])) == 1) {
            uint32_t len;
            const uint8_t *pl = frame_payload(&r, &len);
            if (frames == 0) {
                ck_assert_uint_eq(len, big);
                ck_assert(memcmp(pl, payload, big) == 0);
            } else {
                ck_assert_uint_eq(len, 4);
                ck_assert_mem_eq(pl, "tail", 4);
            }
            frames++;
        }
        ck_assert_int_eq(rc, 0);
    }
    ck_assert_int_gt(flushes, 2); /* the pipe took it in several parts */
    ck_assert(!frame_writer_pending(&w));
    ck_assert_ptr_null(w.buf); /* a big buffer is given back once flushed */

    /* the reader is gone: EPIPE, not a signal */
    close(fds[0]);
    ck_assert_int_eq(frame_writer_push(&w, "x", 1), 0);
    ck_assert_int_eq(frame_writer_flush(&w, fds[1]), -EPIPE);
    ck_assert_int_eq(frame_write(fds[1], "x", 1), -EPIPE);
    close(fds[1]);
    frame_writer_release(&w);
    frame_reader_release(&r);
    free(payload);
}
END_TEST

/* The writer child's last frame, "end", then end of stream, then the child's exit status 0;
 * closes fd and releases r. */
static void expect_end_from_child(struct frame_reader *r, int fd, pid_t pid)
{
    uint32_t len;
    ck_assert_int_eq(frame_read(r, fd), 1);
    const uint8_t *pl = frame_payload(r, &len);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(pl, "end", 3);
    ck_assert_int_eq(frame_read(r, fd), BF_EEOF);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);
    frame_reader_release(r);
}

START_TEST(test_frame_write_blocking_on_nonblocking_fd)
{
    /* frame_write waits (poll) when a non-blocking pipe is full; a child reads at its own pace */
    int fds[2];
    make_pipe(fds, false, true);
    size_t big = 2u << 20;
    uint8_t *payload = malloc(big);
    ck_assert_ptr_nonnull(payload);
    for (size_t i = 0; i < big; i++) payload[i] = (uint8_t)(i ^ (i >> 9));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        int rc = frame_write(fds[1], payload, (uint32_t)big);
        rc |= frame_write(fds[1], "end", 3);
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    struct frame_reader r;
    frame_reader_init(&r, FRAME_MAX);
    ck_assert_int_eq(frame_read(&r, fds[0]), 1); /* blocking fd: waits for the whole frame */
    uint32_t len;
    const uint8_t *pl = frame_payload(&r, &len);
    ck_assert_uint_eq(len, big);
    ck_assert(memcmp(pl, payload, big) == 0);
    expect_end_from_child(&r, fds[0], pid);
    free(payload);
}
END_TEST

START_TEST(test_frame_writer_drain_waits)
{
    /* the worker's batches: many frames queued, written by frame_writer_drain, which waits (poll)
     * while a non-blocking pipe is full; the reader gets every frame, in order */
    int fds[2];
    make_pipe(fds, false, true);
    enum { FRAMES = 300, SIZE = 1000 }; /* 300 KB: several times a pipe's capacity */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        struct frame_writer w;
        frame_writer_init(&w);
        uint8_t payload[SIZE];
        int rc = 0;
        for (int i = 0; i < FRAMES && rc == 0; i++) {
            memset(payload, i & 0xff, sizeof payload);
            rc = frame_writer_push(&w, payload, sizeof payload);
        }
        if (rc == 0) rc = frame_writer_drain(&w, fds[1]);
        if (rc == 0 && frame_writer_pending(&w)) rc = 1;
        if (rc == 0) rc = frame_writer_push(&w, "end", 3);
        if (rc == 0) rc = frame_writer_drain(&w, fds[1]);
        frame_writer_release(&w);
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    struct frame_reader r;
    frame_reader_init(&r, FRAME_MAX);
    uint32_t len;
    const uint8_t *pl;
    for (int i = 0; i < FRAMES; i++) {
        ck_assert_int_eq(frame_read(&r, fds[0]), 1);
        pl = frame_payload(&r, &len);
        ck_assert_uint_eq(len, SIZE);
        ck_assert_uint_eq(pl[0], (uint8_t)(i & 0xff));
        ck_assert_uint_eq(pl[SIZE - 1], (uint8_t)(i & 0xff));
    }
    expect_end_from_child(&r, fds[0], pid);
}
END_TEST

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

START_TEST(test_frame_read_retries_eintr)
{
    /* a blocking read interrupted by signals (no SA_RESTART) goes on reading */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
    int fds[2];
    make_pipe(fds, false, false);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        usleep(300 * 1000);
        _exit(frame_write(fds[1], "late", 4) == 0 ? 0 : 1);
    }
    close(fds[1]);
    struct itimerval it = { { 0, 20 * 1000 }, { 0, 20 * 1000 } };
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    struct frame_reader r;
    frame_reader_init(&r, FRAME_MAX);
    ck_assert_int_eq(frame_read(&r, fds[0]), 1);
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    ck_assert_int_gt(alarms, 2);
    uint32_t len;
    const uint8_t *pl = frame_payload(&r, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert_mem_eq(pl, "late", 4);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fds[0]);
    frame_reader_release(&r);
}
END_TEST

/* ---- messages: one of each type, every field set ---- */

static void fill_grid(struct grid *g, int h, int w, int seed)
{
    g->h = (uint8_t)h;
    g->w = (uint8_t)w;
    for (int i = 0; i < h * w; i++) g->cell[i] = (uint8_t)((i * 7 + seed) % 10);
}

/* Fills *m with message type t, all fields set to distinct values; pointers to static storage. */
static void sample_msg(enum msg_type t, struct msg *m)
{
    static struct sample samples[3];
    static struct pnode nodes[3];
    static uint32_t cands[3] = { 7, 0, 4000000000u };
    static struct ref roots[3];
    static uint8_t cells[40 * 3];
    memset(m, 0, sizeof *m);
    m->type = t;
    switch (t) {
    case MSG_HELLO:
        m->u.hello.pid = 123456;
        m->u.hello.proto = PROTO_VERSION;
        strcpy(m->u.hello.device, "cuda:0 NVIDIA H200");
        break;
    case MSG_TASK:
        m->u.task.task = 77;
        strcpy(m->u.task.name, "007bbfb7");
        m->u.task.n_demo = 2;
        m->u.task.n_test = 1;
        memset(samples, 0, sizeof samples);
        for (int i = 0; i < 3; i++) {
            samples[i].kind = i < 2 ? SAMPLE_DEMO : SAMPLE_TEST;
            samples[i].index = (uint16_t)(i < 2 ? i : 0);
            fill_grid(&samples[i].input, 3 + i, 30 - i, i);
            samples[i].has_output = i < 2;
            if (i < 2) fill_grid(&samples[i].output, 30, 1 + i, i + 5);
        }
        m->u.task.samples = samples;
        break;
    case MSG_NODES:
        m->u.nodes.base = 10;
        m->u.nodes.n = 3;
        memset(nodes, 0, sizeof nodes);
        nodes[0] = (struct pnode){ { REF_PRIM, PRIM_COUNT - 1 }, 2, { { REF_I, 0 }, { REF_CONST, CONST_COUNT - 1 } } };
        nodes[1] = (struct pnode){ { REF_NODE, 10 }, 4,
                                   { { REF_NODE, 9 }, { REF_S, 0 }, { REF_C, 0 }, { REF_PRIM, 0 } } };
        nodes[2] = (struct pnode){ { REF_PRIM, 3 }, 0, { { 0, 0 } } };
        m->u.nodes.nodes = nodes;
        break;
    case MSG_JOB:
        m->u.job.job = 99;
        m->u.job.task = 77;
        m->u.job.sample = 2;
        m->u.job.limit_ms = 250;
        m->u.job.mem_mb = 512;
        m->u.job.want_output = true;
        m->u.job.n = 3;
        m->u.job.cand = cands;
        roots[0] = (struct ref){ REF_NODE, 4000000000u };
        roots[1] = (struct ref){ REF_I, 0 };
        roots[2] = (struct ref){ REF_CONST, 1 };
        m->u.job.root = roots;
        break;
    case MSG_RESULT:
        m->u.result.job = 99;
        m->u.result.cand = 4000000000u;
        m->u.result.status = ST_INTERNAL;
        m->u.result.match = false;
        m->u.result.shape_match = true;
        m->u.result.cells_right = 115;
        m->u.result.cells_total = 120;
        m->u.result.cpu_us = 1234567890123ull;
        m->u.result.wall_us = UINT64_MAX;
        m->u.result.out_hash = 0xfedcba9876543210ULL;
        snprintf(m->u.result.text, sizeof m->u.result.text, "%s", "tuple index out of range");
        m->u.result.has_grid = true;
        m->u.result.out_h = 40;
        m->u.result.out_w = 3;
        for (size_t i = 0; i < sizeof cells; i++) cells[i] = (uint8_t)(i % 10);
        m->u.result.out_cells = cells;
        break;
    case MSG_DONE:
        m->u.done.job = 4294967295u;
        break;
    case MSG_ERROR:
        memset(m->u.error.text, 'e', sizeof m->u.error.text - 1); /* the longest text there is */
        break;
    default:
        break;
    }
}

static void grids_equal(const struct grid *a, const struct grid *b)
{
    ck_assert_int_eq(a->h, b->h);
    ck_assert_int_eq(a->w, b->w);
    ck_assert_mem_eq(a->cell, b->cell, (size_t)a->h * a->w);
}

static void refs_equal(struct ref a, struct ref b)
{
    ck_assert_int_eq(a.kind, b.kind);
    ck_assert_uint_eq(a.id, b.id);
}

static void msgs_equal(const struct msg *a, const struct msg *b)
{
    ck_assert_int_eq(a->type, b->type);
    switch (a->type) {
    case MSG_HELLO:
        ck_assert_int_eq(a->u.hello.pid, b->u.hello.pid);
        ck_assert_int_eq(a->u.hello.proto, b->u.hello.proto);
        ck_assert_str_eq(a->u.hello.device, b->u.hello.device);
        break;
    case MSG_TASK:
        ck_assert_uint_eq(a->u.task.task, b->u.task.task);
        ck_assert_str_eq(a->u.task.name, b->u.task.name);
        ck_assert_int_eq(a->u.task.n_demo, b->u.task.n_demo);
        ck_assert_int_eq(a->u.task.n_test, b->u.task.n_test);
        for (int i = 0; i < a->u.task.n_demo + a->u.task.n_test; i++) {
            const struct sample *x = &a->u.task.samples[i], *y = &b->u.task.samples[i];
            ck_assert_int_eq(x->kind, y->kind);
            ck_assert_int_eq(x->index, y->index);
            ck_assert_int_eq(x->has_output, y->has_output);
            grids_equal(&x->input, &y->input);
            if (x->has_output) grids_equal(&x->output, &y->output);
        }
        break;
    case MSG_NODES:
        ck_assert_uint_eq(a->u.nodes.base, b->u.nodes.base);
        ck_assert_uint_eq(a->u.nodes.n, b->u.nodes.n);
        for (uint32_t i = 0; i < a->u.nodes.n; i++) {
            const struct pnode *x = &a->u.nodes.nodes[i], *y = &b->u.nodes.nodes[i];
            refs_equal(x->callee, y->callee);
            ck_assert_int_eq(x->nargs, y->nargs);
            for (int k = 0; k < x->nargs; k++) refs_equal(x->arg[k], y->arg[k]);
        }
        break;
    case MSG_JOB:
        ck_assert_uint_eq(a->u.job.job, b->u.job.job);
        ck_assert_uint_eq(a->u.job.task, b->u.job.task);
        ck_assert_uint_eq(a->u.job.sample, b->u.job.sample);
        ck_assert_uint_eq(a->u.job.limit_ms, b->u.job.limit_ms);
        ck_assert_uint_eq(a->u.job.mem_mb, b->u.job.mem_mb);
        ck_assert_int_eq(a->u.job.want_output, b->u.job.want_output);
        ck_assert_uint_eq(a->u.job.n, b->u.job.n);
        for (uint32_t i = 0; i < a->u.job.n; i++) {
            ck_assert_uint_eq(a->u.job.cand[i], b->u.job.cand[i]);
            refs_equal(a->u.job.root[i], b->u.job.root[i]);
        }
        break;
    case MSG_RESULT: {
        const struct msg_result *x = &a->u.result, *y = &b->u.result;
        ck_assert_uint_eq(x->job, y->job);
        ck_assert_uint_eq(x->cand, y->cand);
        ck_assert_uint_eq(x->status, y->status);
        ck_assert_int_eq(x->match, y->match);
        ck_assert_int_eq(x->shape_match, y->shape_match);
        ck_assert_uint_eq(x->cells_right, y->cells_right);
        ck_assert_uint_eq(x->cells_total, y->cells_total);
        ck_assert_uint_eq(x->cpu_us, y->cpu_us);
        ck_assert_uint_eq(x->wall_us, y->wall_us);
        ck_assert_uint_eq(x->out_hash, y->out_hash);
        ck_assert_str_eq(x->text, y->text);
        ck_assert_int_eq(x->has_grid, y->has_grid);
        if (x->has_grid) {
            ck_assert_uint_eq(x->out_h, y->out_h);
            ck_assert_uint_eq(x->out_w, y->out_w);
            ck_assert_mem_eq(x->out_cells, y->out_cells, (size_t)x->out_h * x->out_w);
        }
        break;
    }
    case MSG_DONE:
        ck_assert_uint_eq(a->u.done.job, b->u.done.job);
        break;
    case MSG_ERROR:
        ck_assert_str_eq(a->u.error.text, b->u.error.text);
        break;
    default:
        break;
    }
}

static void encode(const struct msg *m, struct msg_buf *b)
{
    b->len = 0;
    ck_assert_int_eq(msg_encode(m, b), 0);
    ck_assert_uint_gt(b->len, 0);
}

START_TEST(test_msg_round_trip)
{
    enum msg_type t = (enum msg_type)_i;
    struct msg m, back;
    struct msg_buf b = { 0 };
    char err[256];
    sample_msg(t, &m);
    encode(&m, &b);
    int rc = msg_decode(b.data, b.len, &back, err, sizeof err);
    ck_assert_msg(rc == 0, "%s: %s", msg_type_name(t), err);
    msgs_equal(&m, &back);
    msg_release(&back);
    msg_release(&back); /* idempotent */
    /* the payload also goes through a frame and comes out the same */
    struct frame_writer w;
    frame_writer_init(&w);
    ck_assert_int_eq(frame_writer_push(&w, b.data, (uint32_t)b.len), 0);
    struct frame_reader r;
    frame_reader_init(&r, FRAME_MAX);
    size_t used;
    ck_assert_int_eq(frame_feed(&r, w.buf, w.len, &used), 1);
    uint32_t plen;
    const uint8_t *pl = frame_payload(&r, &plen);
    ck_assert_int_eq(msg_decode(pl, plen, &back, err, sizeof err), 0);
    msgs_equal(&m, &back);
    msg_release(&back);
    frame_reader_release(&r);
    frame_writer_release(&w);
    msg_buf_release(&b);
}
END_TEST

START_TEST(test_msg_result_variants)
{
    /* no text, no grid: the optional keys are left out and come back empty */
    struct msg m, back;
    struct msg_buf b = { 0 };
    char err[256];
    sample_msg(MSG_RESULT, &m);
    m.u.result.text[0] = 0;
    m.u.result.has_grid = false;
    encode(&m, &b);
    ck_assert_int_eq(msg_decode(b.data, b.len, &back, err, sizeof err), 0);
    msgs_equal(&m, &back);
    ck_assert_ptr_null(back.u.result.out_cells);
    msg_release(&back);
    /* the largest output grid */
    static uint8_t cells[PROTO_MAX_OUT_SIDE * PROTO_MAX_OUT_SIDE];
    m.u.result.has_grid = true;
    m.u.result.out_h = m.u.result.out_w = PROTO_MAX_OUT_SIDE;
    m.u.result.out_cells = cells;
    encode(&m, &b);
    ck_assert_int_eq(msg_decode(b.data, b.len, &back, err, sizeof err), 0);
    msgs_equal(&m, &back);
    msg_release(&back);
    /* appending: two messages in one buffer */
    b.len = 0;
    ck_assert_int_eq(msg_encode(&m, &b), 0);
    size_t first = b.len;
    m.u.result.has_grid = false;
    ck_assert_int_eq(msg_encode(&m, &b), 0);
    ck_assert_int_eq(msg_decode(b.data + first, b.len - first, &back, err, sizeof err), 0);
    ck_assert(!back.u.result.has_grid);
    msg_release(&back);
    msg_buf_release(&b);
}
END_TEST

START_TEST(test_msg_encode_refuses)
{
    struct msg m;
    struct msg_buf b = { 0 };
    static uint8_t cells[4] = { 1, 2, 3, 10 };
    sample_msg(MSG_RESULT, &m);
    m.u.result.out_h = 2;
    m.u.result.out_w = 2;
    m.u.result.out_cells = cells; /* colour 10 */
    ck_assert_int_eq(msg_encode(&m, &b), -EINVAL);
    ck_assert_uint_eq(b.len, 0); /* nothing half-written is left */
    sample_msg(MSG_RESULT, &m);
    m.u.result.out_h = PROTO_MAX_OUT_SIDE + 1;
    ck_assert_int_eq(msg_encode(&m, &b), -EINVAL);
    sample_msg(MSG_RESULT, &m);
    m.u.result.status = ST_COUNT;
    ck_assert_int_eq(msg_encode(&m, &b), -EINVAL);
    sample_msg(MSG_NODES, &m);
    m.u.nodes.nodes[0].callee.id = PRIM_COUNT;
    ck_assert_int_eq(msg_encode(&m, &b), -EINVAL);
    sample_msg(MSG_NODES, &m);
    m.u.nodes.nodes[0].arg[0] = (struct ref){ REF_NODE, 10 }; /* itself: not an earlier node */
    ck_assert_int_eq(msg_encode(&m, &b), -EINVAL);
    sample_msg(MSG_TASK, &m);
    m.u.task.samples[0].has_output = false; /* a demo without output */
    ck_assert_int_eq(msg_encode(&m, &b), -EINVAL);
    m.type = (enum msg_type)0;
    ck_assert_int_eq(msg_encode(&m, &b), -EINVAL);
    ck_assert_uint_eq(b.len, 0);
    msg_buf_release(&b);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(msg_type_name(MSG_HELLO), "hello");
    ck_assert_str_eq(msg_type_name(MSG_RESULT), "result");
    ck_assert_str_eq(msg_type_name(MSG_BYE), "bye");
    ck_assert_str_eq(msg_type_name((enum msg_type)0), "unknown");
    ck_assert_str_eq(msg_type_name(MSG_TYPE_COUNT), "unknown");
    static const char *const names[] = { "ok", "error", "timeout", "memout", "crash", "invalid", "internal" };
    ck_assert_int_eq(BF_ARRAY_LEN(names), ST_COUNT);
    for (int i = 0; i < ST_COUNT; i++) {
        ck_assert_str_eq(bf_status_name((enum bf_status)i), names[i]);
        ck_assert_int_eq(bf_status_parse(names[i]), i);
    }
    ck_assert_int_eq(bf_status_parse("OK"), -1);
    ck_assert_int_eq(bf_status_parse(""), -1);
    ck_assert_str_eq(bf_status_name(ST_COUNT), "unknown");
}
END_TEST

/* ---- hostile payloads ---- */

/* A msgpack writer for hand-made payloads (the encoder refuses to make bad ones). */
struct raw {
    msgpack_sbuffer sb;
    msgpack_packer pk;
};

static void raw_init(struct raw *r)
{
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

static void raw_str(struct raw *r, const char *s)
{
    msgpack_pack_str(&r->pk, strlen(s));
    msgpack_pack_str_body(&r->pk, s, strlen(s));
}

static void raw_kv_uint(struct raw *r, const char *k, uint64_t v)
{
    raw_str(r, k);
    msgpack_pack_uint64(&r->pk, v);
}

/* Decodes r's bytes; must fail with BF_EDECODE and a reason containing want. */
static void expect_refused(struct raw *r, const char *want)
{
    struct msg m;
    char err[256];
    int rc = msg_decode((const uint8_t *)r->sb.data, r->sb.size, &m, err, sizeof err);
    ck_assert_msg(rc == BF_EDECODE, "accepted; want \"%s\"", want);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
    ck_assert_int_eq(m.type, 0); /* left safe to release */
    msg_release(&m);
    msgpack_sbuffer_destroy(&r->sb);
}

static void expect_ok(struct raw *r, struct msg *m)
{
    char err[256];
    int rc = msg_decode((const uint8_t *)r->sb.data, r->sb.size, m, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    msgpack_sbuffer_destroy(&r->sb);
}

/* A RESULT map header and its type key, with n more keys to come. */
static void raw_result_head(struct raw *r, size_t more)
{
    raw_init(r);
    msgpack_pack_map(&r->pk, 1 + more);
    raw_kv_uint(r, "type", MSG_RESULT);
}

/* The nine required RESULT fields, status st. */
static void raw_result_fields(struct raw *r, uint64_t st)
{
    raw_kv_uint(r, "job", 1);
    raw_kv_uint(r, "cand", 2);
    raw_kv_uint(r, "st", st);
    raw_str(r, "m");
    msgpack_pack_true(&r->pk);
    raw_str(r, "sm");
    msgpack_pack_false(&r->pk);
    raw_kv_uint(r, "cr", 3);
    raw_kv_uint(r, "ct", 4);
    raw_kv_uint(r, "cpu", 5);
    raw_kv_uint(r, "wall", 6);
}

static void raw_grid(struct raw *r, uint64_t h, uint64_t w, const uint8_t *cells, size_t n)
{
    msgpack_pack_array(&r->pk, 3);
    msgpack_pack_uint64(&r->pk, h);
    msgpack_pack_uint64(&r->pk, w);
    msgpack_pack_bin(&r->pk, n);
    msgpack_pack_bin_body(&r->pk, cells, n);
}

START_TEST(test_msg_hand_made)
{
    struct raw r;
    struct msg m;
    /* the good one, with an unknown key of a nested type that is ignored */
    raw_result_head(&r, 10);
    raw_result_fields(&r, ST_OK);
    raw_str(&r, "future");
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_map(&r.pk, 0);
    expect_ok(&r, &m);
    ck_assert_int_eq(m.type, MSG_RESULT);
    ck_assert_uint_eq(m.u.result.cells_total, 4);
    ck_assert(m.u.result.match);
    msg_release(&m);

    raw_result_head(&r, 9);
    raw_result_fields(&r, ST_COUNT);
    expect_refused(&r, "key \"st\": 7 above the maximum 6");

    raw_result_head(&r, 8); /* "wall" missing: only the first eight... */
    raw_kv_uint(&r, "job", 1);
    raw_kv_uint(&r, "cand", 2);
    raw_kv_uint(&r, "st", 0);
    raw_str(&r, "m");
    msgpack_pack_true(&r.pk);
    raw_str(&r, "sm");
    msgpack_pack_false(&r.pk);
    raw_kv_uint(&r, "cr", 3);
    raw_kv_uint(&r, "ct", 4);
    raw_kv_uint(&r, "cpu", 5);
    expect_refused(&r, "result message, key \"wall\": missing");

    raw_result_head(&r, 9);
    raw_result_fields(&r, ST_OK);
    raw_kv_uint(&r, "job", 1);
    /* the map says 10 entries; that is 11: the scanner sees trailing bytes */
    expect_refused(&r, "bytes after the message");

    raw_result_head(&r, 10);
    raw_result_fields(&r, ST_OK);
    raw_kv_uint(&r, "job", 1);
    expect_refused(&r, "key \"job\": key given twice");

    raw_result_head(&r, 9);
    raw_kv_uint(&r, "job", 1);
    raw_kv_uint(&r, "cand", 2);
    raw_kv_uint(&r, "st", 0);
    raw_str(&r, "m");
    msgpack_pack_int8(&r.pk, 1); /* not a boolean */
    raw_str(&r, "sm");
    msgpack_pack_false(&r.pk);
    raw_kv_uint(&r, "cr", 3);
    raw_kv_uint(&r, "ct", 4);
    raw_kv_uint(&r, "cpu", 5);
    raw_kv_uint(&r, "wall", 6);
    expect_refused(&r, "key \"m\": expected a boolean, found an unsigned integer");

    raw_result_head(&r, 9);
    raw_kv_uint(&r, "job", 1);
    raw_str(&r, "cand");
    msgpack_pack_int64(&r.pk, -2);
    expect_refused(&r, "container of 20 objects in"); /* the map promised more entries */

    raw_result_head(&r, 9);
    raw_kv_uint(&r, "job", 1ull << 32);
    raw_kv_uint(&r, "cand", 2);
    raw_kv_uint(&r, "st", 0);
    raw_str(&r, "m");
    msgpack_pack_true(&r.pk);
    raw_str(&r, "sm");
    msgpack_pack_false(&r.pk);
    raw_kv_uint(&r, "cr", 3);
    raw_kv_uint(&r, "ct", 4);
    raw_kv_uint(&r, "cpu", 5);
    raw_kv_uint(&r, "wall", 6);
    expect_refused(&r, "key \"job\": 4294967296 above the maximum 4294967295");

    /* result grids: sides, cell counts, colours, type */
    static uint8_t cells[256 * 256];
    raw_result_head(&r, 10);
    raw_result_fields(&r, ST_OK);
    raw_str(&r, "g");
    raw_grid(&r, 256, 1, cells, 256);
    expect_refused(&r, "key \"g\": 256 above the maximum 255");
    raw_result_head(&r, 10);
    raw_result_fields(&r, ST_OK);
    raw_str(&r, "g");
    raw_grid(&r, 0, 0, cells, 0);
    expect_refused(&r, "empty grid");
    raw_result_head(&r, 10);
    raw_result_fields(&r, ST_OK);
    raw_str(&r, "g");
    raw_grid(&r, 2, 3, cells, 5);
    expect_refused(&r, "grid 2x3 with 5 cells");
    raw_result_head(&r, 10);
    raw_result_fields(&r, ST_OK);
    raw_str(&r, "g");
    cells[3] = 10;
    raw_grid(&r, 2, 2, cells, 4);
    cells[3] = 0;
    expect_refused(&r, "colour above 9");
    raw_result_head(&r, 10);
    raw_result_fields(&r, ST_OK);
    raw_str(&r, "txt");
    char longtext[PROTO_MAX_TEXT + 1];
    memset(longtext, 'x', PROTO_MAX_TEXT);
    longtext[PROTO_MAX_TEXT] = 0;
    raw_str(&r, longtext);
    expect_refused(&r, "key \"txt\": string of 256 bytes, at most 255");
}
END_TEST

START_TEST(test_msg_hand_made_structure)
{
    struct raw r;
    /* not a map; no type; bad type */
    raw_init(&r);
    msgpack_pack_array(&r.pk, 0);
    expect_refused(&r, "a message is a map, found an array");
    raw_init(&r);
    msgpack_pack_map(&r.pk, 1);
    raw_kv_uint(&r, "job", 1);
    expect_refused(&r, "no \"type\" key");
    raw_init(&r);
    msgpack_pack_map(&r.pk, 1);
    raw_kv_uint(&r, "type", MSG_TYPE_COUNT);
    expect_refused(&r, "\"type\" is not a message type");
    raw_init(&r);
    msgpack_pack_map(&r.pk, 1);
    raw_str(&r, "type");
    raw_str(&r, "bye");
    expect_refused(&r, "\"type\" is not a message type");
    /* BYE alone is fine */
    struct msg m;
    raw_init(&r);
    msgpack_pack_map(&r.pk, 1);
    raw_kv_uint(&r, "type", MSG_BYE);
    expect_ok(&r, &m);
    ck_assert_int_eq(m.type, MSG_BYE);

    /* nesting deeper than PROTO_MAX_DEPTH, inside an ignored key */
    raw_init(&r);
    msgpack_pack_map(&r.pk, 2);
    raw_kv_uint(&r, "type", MSG_BYE);
    raw_str(&r, "x");
    for (int i = 0; i < PROTO_MAX_DEPTH; i++) msgpack_pack_array(&r.pk, 1);
    msgpack_pack_nil(&r.pk);
    expect_refused(&r, "nested deeper than 8");
    raw_init(&r); /* exactly PROTO_MAX_DEPTH is fine */
    msgpack_pack_map(&r.pk, 2);
    raw_kv_uint(&r, "type", MSG_BYE);
    raw_str(&r, "x");
    for (int i = 0; i < PROTO_MAX_DEPTH - 1; i++) msgpack_pack_array(&r.pk, 1);
    msgpack_pack_nil(&r.pk);
    expect_ok(&r, &m);

    /* NODES: refs checked by kind, nargs bounded, REF_NODE only backwards */
    struct { uint64_t code; const char *why; } bad_refs[] = {
        { (uint64_t)PRIM_COUNT << 3 | REF_PRIM, "bad ref" },
        { (uint64_t)CONST_COUNT << 3 | REF_CONST, "bad ref" },
        { 1u << 3 | REF_I, "bad ref" },
        { REF_NONE, "bad ref" },
        { 7, "bad ref" },
        { (uint64_t)5 << 3 | REF_NODE, "bad ref" },  /* node 5 is the node itself */
        { (uint64_t)1 << 40, "above the maximum" },
    };
    for (size_t i = 0; i < BF_ARRAY_LEN(bad_refs); i++) {
        raw_init(&r);
        msgpack_pack_map(&r.pk, 3);
        raw_kv_uint(&r, "type", MSG_NODES);
        raw_kv_uint(&r, "base", 5);
        raw_str(&r, "nodes");
        msgpack_pack_array(&r.pk, 1);
        msgpack_pack_array(&r.pk, 2);
        msgpack_pack_uint64(&r.pk, (uint64_t)3 << 3 | REF_PRIM);
        msgpack_pack_uint64(&r.pk, bad_refs[i].code);
        expect_refused(&r, bad_refs[i].why);
    }
    raw_init(&r);
    msgpack_pack_map(&r.pk, 3);
    raw_kv_uint(&r, "type", MSG_NODES);
    raw_kv_uint(&r, "base", 5);
    raw_str(&r, "nodes");
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_array(&r.pk, 2 + PROG_MAX_ARGS);
    for (int i = 0; i < 2 + PROG_MAX_ARGS; i++) msgpack_pack_uint64(&r.pk, REF_I);
    expect_refused(&r, "a node [callee, args...] of 6 elements, expected 1 to 5");
    raw_init(&r);
    msgpack_pack_map(&r.pk, 3);
    raw_kv_uint(&r, "type", MSG_NODES);
    raw_kv_uint(&r, "base", UINT32_MAX);
    raw_str(&r, "nodes");
    msgpack_pack_array(&r.pk, 2);
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_uint64(&r.pk, REF_I);
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_uint64(&r.pk, REF_I);
    expect_refused(&r, "node ids past 2^32");

    /* JOB: as many roots as candidates */
    raw_init(&r);
    msgpack_pack_map(&r.pk, 9);
    raw_kv_uint(&r, "type", MSG_JOB);
    raw_kv_uint(&r, "job", 1);
    raw_kv_uint(&r, "task", 1);
    raw_kv_uint(&r, "smp", 0);
    raw_kv_uint(&r, "lim", 1);
    raw_kv_uint(&r, "mem", 1);
    raw_str(&r, "out");
    msgpack_pack_false(&r.pk);
    raw_str(&r, "roots");
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_uint64(&r.pk, REF_I);
    raw_str(&r, "cands");
    msgpack_pack_array(&r.pk, 2);
    msgpack_pack_uint64(&r.pk, 1);
    msgpack_pack_uint64(&r.pk, 2);
    expect_refused(&r, "key \"roots\": an array of refs, one per candidate of 1 elements, expected 2 to 2");

    /* TASK: a demo needs an output; sample grids are at most 30x30 */
    static uint8_t cells[31 * 31];
    raw_init(&r);
    msgpack_pack_map(&r.pk, 5);
    raw_kv_uint(&r, "type", MSG_TASK);
    raw_kv_uint(&r, "task", 1);
    raw_str(&r, "name");
    raw_str(&r, "t");
    raw_kv_uint(&r, "nd", 1);
    raw_str(&r, "s");
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_array(&r.pk, 2);
    raw_grid(&r, 1, 1, cells, 1);
    msgpack_pack_nil(&r.pk);
    expect_refused(&r, "demo 0 has no output");
    raw_init(&r);
    msgpack_pack_map(&r.pk, 5);
    raw_kv_uint(&r, "type", MSG_TASK);
    raw_kv_uint(&r, "task", 1);
    raw_str(&r, "name");
    raw_str(&r, "t");
    raw_kv_uint(&r, "nd", 0);
    raw_str(&r, "s");
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_array(&r.pk, 2);
    raw_grid(&r, 31, 31, cells, 31 * 31);
    msgpack_pack_nil(&r.pk);
    expect_refused(&r, "31 above the maximum 30");
    raw_init(&r);
    msgpack_pack_map(&r.pk, 5);
    raw_kv_uint(&r, "type", MSG_TASK);
    raw_kv_uint(&r, "task", 1);
    raw_str(&r, "name");
    raw_str(&r, "t");
    raw_kv_uint(&r, "nd", 2);
    raw_str(&r, "s");
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_array(&r.pk, 2);
    raw_grid(&r, 1, 1, cells, 1);
    raw_grid(&r, 1, 1, cells, 1);
    expect_refused(&r, "an array of samples (at least nd) of 1 elements, expected 2 to 64");
}
END_TEST

static void expect_bytes_refused(const uint8_t *p, size_t n, const char *want)
{
    struct msg m;
    char err[256];
    ck_assert_int_eq(msg_decode(p, n, &m, err, sizeof err), BF_EDECODE);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
    msg_release(&m);
}

START_TEST(test_msg_raw_bytes)
{
    expect_bytes_refused((const uint8_t *)"", 0, "empty payload");
    static const uint8_t c1[] = { 0xc1 };
    expect_bytes_refused(c1, sizeof c1, "invalid msgpack marker 0xc1");
    /* containers announcing far more elements than there are bytes: refused before msgpack-c
     * would allocate 2^32 objects */
    static const uint8_t arr32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0 };
    expect_bytes_refused(arr32, sizeof arr32, "container of 4294967295 objects in 1 bytes");
    static const uint8_t map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
    expect_bytes_refused(map32, sizeof map32, "container of 8589934590 objects in 0 bytes");
    static const uint8_t str32[] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' };
    expect_bytes_refused(str32, sizeof str32, "truncated");
    static const uint8_t bin8[] = { 0xc4 };
    expect_bytes_refused(bin8, sizeof bin8, "truncated");
    static const uint8_t two[] = { 0x80, 0x80 };
    expect_bytes_refused(two, sizeof two, "1 bytes after the message");
    static const uint8_t emptymap[] = { 0x80 };
    expect_bytes_refused(emptymap, sizeof emptymap, "no \"type\" key");
    /* a lot of objects, each one byte: refused by the object bound */
    size_t n = (1u << 19) + 16;
    uint8_t *many = malloc(n);
    ck_assert_ptr_nonnull(many);
    many[0] = 0xdd;
    many[1] = 0;
    many[2] = 0x08;
    many[3] = 0;
    many[4] = 0x08; /* 524296 elements */
    memset(many + 5, 0xc0, n - 5);
    expect_bytes_refused(many, 5 + 524296, "more than 524288 msgpack objects");
    free(many);
}
END_TEST

/* Decodes p[0..n): must be 0 or BF_EDECODE, and m must be releasable either way. */
static int decode_any(const uint8_t *p, size_t n)
{
    struct msg m;
    char err[128];
    int rc = msg_decode(p, n, &m, err, sizeof err);
    ck_assert_msg(rc == 0 || rc == BF_EDECODE, "rc %d", rc);
    if (rc != 0) ck_assert_int_gt(strlen(err), 0);
    msg_release(&m);
    return rc;
}

START_TEST(test_msg_prefixes_and_flips)
{
    enum msg_type t = (enum msg_type)_i;
    struct msg m;
    struct msg_buf b = { 0 };
    sample_msg(t, &m);
    encode(&m, &b);
    /* every proper prefix is a truncated message */
    for (size_t cut = 0; cut < b.len; cut++) {
        uint8_t *copy = malloc(cut + 1); /* exact size: ASan sees any overread */
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, b.data, cut);
        ck_assert_int_eq(decode_any(copy, cut), BF_EDECODE);
        free(copy);
    }
    /* every single-bit flip: accepted or refused, never a crash or a leak */
    uint8_t *copy = malloc(b.len);
    ck_assert_ptr_nonnull(copy);
    int accepted = 0;
    size_t limit = b.len > 2048 ? 2048 : b.len; /* TASK is large: its head is enough */
    for (size_t i = 0; i < limit; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, b.data, b.len);
            copy[i] ^= (uint8_t)(1u << bit);
            accepted += decode_any(copy, b.len) == 0;
        }
    }
    ck_assert_int_lt(accepted, (int)limit * 8);
    free(copy);
    msg_buf_release(&b);
}
END_TEST

START_TEST(test_msg_random_bytes)
{
    uint8_t buf[512];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(rng() % sizeof buf);
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rng();
        if (n && iter % 2) buf[0] = (uint8_t)(0x80 | (rng() & 0x0f)); /* start like a map */
        decode_any(buf, n);
    }
}
END_TEST

START_TEST(test_msg_zero_length_frame)
{
    /* the frame layer passes an empty frame; the message layer refuses it */
    static const uint8_t zero[] = { 0, 0, 0, 0 };
    struct frame_reader r;
    frame_reader_init(&r, FRAME_MAX);
    size_t used;
    ck_assert_int_eq(frame_feed(&r, zero, 4, &used), 1);
    uint32_t len;
    const uint8_t *pl = frame_payload(&r, &len);
    ck_assert_ptr_nonnull(pl);
    ck_assert_uint_eq(len, 0);
    expect_bytes_refused(pl, len, "empty payload");
    frame_reader_release(&r);
}
END_TEST

/* ---- fuzz seeds ---- */

/* Writes DIR/<type>.bin for each message type and DIR/all.bin with every one of them: a first
 * byte (fuzz_frame's chunk size selector), then the framed messages. */
static int write_seeds(const char *dir)
{
    struct frame_writer all;
    frame_writer_init(&all);
    for (int t = MSG_HELLO; t < MSG_TYPE_COUNT; t++) {
        struct msg m;
        struct msg_buf b = { 0 };
        sample_msg((enum msg_type)t, &m);
        if (msg_encode(&m, &b) < 0) return 1;
        struct frame_writer w;
        frame_writer_init(&w);
        if (frame_writer_push(&w, b.data, (uint32_t)b.len) < 0) return 1;
        if (frame_writer_push(&all, b.data, (uint32_t)b.len) < 0) return 1;
        char path[512];
        snprintf(path, sizeof path, "%s/%s.bin", dir, msg_type_name((enum msg_type)t));
        uint8_t chunk = (uint8_t)(t * 37);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(&chunk, 1, 1, f) != 1 || fwrite(w.buf, 1, w.len, f) != w.len || fclose(f) != 0) return 1;
        frame_writer_release(&w);
        msg_buf_release(&b);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/all.bin", dir);
    uint8_t chunk = 255;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(&chunk, 1, 1, f) != 1 || fwrite(all.buf, 1, all.len, f) != all.len || fclose(f) != 0) return 1;
    frame_writer_release(&all);
    return 0;
}

static Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *frames = tcase_create("frames");
    tcase_set_timeout(frames, 20);
    tcase_add_test(frames, test_frame_header_layout);
    tcase_add_test(frames, test_frame_feed_chunks);
    tcase_add_test(frames, test_frame_truncated_in_memory);
    tcase_add_test(frames, test_frame_too_big);
    tcase_add_test(frames, test_frame_pipe_one_byte_at_a_time);
    tcase_add_test(frames, test_frame_pipe_burst);
    tcase_add_test(frames, test_frame_pipe_truncated);
    tcase_add_test(frames, test_frame_writer_partial_and_epipe);
    tcase_add_test(frames, test_frame_write_blocking_on_nonblocking_fd);
    tcase_add_test(frames, test_frame_writer_drain_waits);
    tcase_add_test(frames, test_frame_read_retries_eintr);
    suite_add_tcase(s, frames);
    TCase *msgs = tcase_create("messages");
    tcase_set_timeout(msgs, 60);
    tcase_add_loop_test(msgs, test_msg_round_trip, MSG_HELLO, MSG_TYPE_COUNT);
    tcase_add_test(msgs, test_msg_result_variants);
    tcase_add_test(msgs, test_msg_encode_refuses);
    tcase_add_test(msgs, test_names);
    tcase_add_test(msgs, test_msg_hand_made);
    tcase_add_test(msgs, test_msg_hand_made_structure);
    tcase_add_test(msgs, test_msg_raw_bytes);
    tcase_add_test(msgs, test_msg_zero_length_frame);
    tcase_add_loop_test(msgs, test_msg_prefixes_and_flips, MSG_HELLO, MSG_TYPE_COUNT);
    tcase_add_test(msgs, test_msg_random_bytes);
    suite_add_tcase(s, msgs);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) return write_seeds(argv[2]);
    SRunner *sr = srunner_create(wire_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

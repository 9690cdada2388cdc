/* fuzz_frame.c: libFuzzer target for the wire: frame_feed() over the bytes (in chunks whose size the
 * first byte chooses), frame_feed_eof() at the end, and msg_decode()/msg_release() on every frame.
 * A message that decodes must encode again, and decode+encode of that must give the same bytes.
 * Run: tools/run-fuzz.sh fuzz_frame SECONDS */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* decode(payload) ok => encode ok, and encode(decode(encode(m))) == encode(m). */
static void fuzz_round_trip(const struct msg *m)
{
    struct msg_buf a = { 0 }, b = { 0 };
    if (msg_encode(m, &a) != 0) abort();
    struct msg again;
    char err[256];
    if (msg_decode(a.data, a.len, &again, err, sizeof err) != 0) abort();
    if (msg_encode(&again, &b) != 0) abort();
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) abort();
    msg_release(&again);
    msg_buf_release(&a);
    msg_buf_release(&b);
}

static void fuzz_payload(const uint8_t *p, uint32_t len)
{
    /* an exact-size copy, so ASan sees any read past the end */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return;
    if (len) memcpy(copy, p, len);
    struct msg m;
    char err[256];
    int rc = msg_decode(copy, len, &m, err, sizeof err);
    if (rc == 0) fuzz_round_trip(&m);
    else if (rc != BF_EDECODE || err[0] == 0 || m.type != 0) abort();
    msg_release(&m);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    size_t chunk = (size_t)data[0] + 1;
    data++;
    size--;
    struct frame_reader r;
    frame_reader_init(&r, 1u << 20);
    size_t off = 0;
    int rc = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        size_t used = 0;
        rc = frame_feed(&r, data + off, n, &used);
        if (used > n) abort();
        off += used;
        if (rc < 0) break;
        if (rc == 1) {
            uint32_t len;
            const uint8_t *p = frame_payload(&r, &len);
            fuzz_payload(p, len);
        } else if (used != n) {
            abort();
        }
    }
    if (rc >= 0) {
        int end = frame_feed_eof(&r);
        if (end != BF_EEOF && end != BF_ETRUNCATED) abort();
    } else if (rc != BF_ETOOBIG) {
        abort();
    }
    frame_reader_release(&r);
    return 0;
}

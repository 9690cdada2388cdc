/* compat.h: included first by every .c file of battfarm (like nginx's ngx_config.h).
 * Feature macros, attribute shorthands and the error codes shared by all modules. */
#ifndef BF_COMPAT_H
#define BF_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BF_NORETURN __attribute__((noreturn))
#define BF_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define BF_UNUSED __attribute__((unused))
#define BF_LIKELY(x) __builtin_expect(!!(x), 1)
#define BF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define BF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Return codes of OS/protocol code (common/, master/): 0, or a negative number:
 * -errno, or one of these (below errno's range). bf_strerror() describes both. */
enum bf_error {
    BF_EEOF = -10000,      /* clean end of stream between frames */
    BF_ETRUNCATED,         /* end of stream inside a frame */
    BF_ETOOBIG,            /* frame length above the maximum */
    BF_EDECODE,            /* payload is not a valid message */
    BF_EJSON,              /* malformed JSON */
    BF_ETASK,              /* JSON is valid but not an ARC task */
    BF_ESYNTAX,            /* program text does not parse */
    BF_ENOMEM,             /* allocation failed */
    BF_EUSAGE,             /* bad command line */
    BF_EINTERNAL,          /* our bug */
};

const char *bf_strerror(int rc);

#endif

/* hosts.h: --hosts FILE, the machines whose workers a run uses (design.md section 9).
 *
 * One host per line, `[N/]host`: N slots on that host (default 1). `host` is given to ssh as
 * is (`user@node7`, an alias of ~/.ssh/config); the name `local` means this machine, whose
 * slots fork+exec the worker as without --hosts. `#` starts a comment; blank lines are allowed.
 * A bad line is an error "FILE:LINE: reason"; a host may appear on several lines (its slots add).
 *
 *   struct hosts h = HOSTS_INIT; hosts_load(path, &h, err, sizeof err); ... hosts_release(&h); */
#ifndef BF_HOSTS_H
#define BF_HOSTS_H

#include "compat.h"

#include <string.h>

#define HOSTS_LOCAL "local"
#define HOSTS_MAX_SLOTS 4096

struct host_entry {
    char *name;
    uint32_t slots;
};

struct hosts {
    struct host_entry *v;
    size_t n;
    uint32_t slots;       /* over all lines */
};
#define HOSTS_INIT { NULL, 0, 0 }

/* 0; BF_EUSAGE with the reason in err ("FILE:LINE: ..." or "FILE: ..."); BF_ENOMEM. */
int hosts_load(const char *path, struct hosts *h, char *err, size_t errlen);
void hosts_release(struct hosts *h);

static inline bool hosts_is_local(const char *name) { return !strcmp(name, HOSTS_LOCAL); }

#endif

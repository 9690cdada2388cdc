/* hosts.c: the --hosts file (hosts.h). */
#include "compat.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosts.h"

static int hosts_fail(char *err, size_t errlen, const char *path, unsigned line, const char *fmt, ...)
    BF_PRINTF(5, 6);
static int hosts_fail(char *err, size_t errlen, const char *path, unsigned line, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (line) snprintf(err, errlen, "%s:%u: %s", path, line, why);
    else snprintf(err, errlen, "%s: %s", path, why);
    return BF_EUSAGE;
}

/* One line, comment and surrounding blanks removed: "" (nothing), or [N/]host. */
static int hosts_line(struct hosts *h, char *l, const char *path, unsigned no, char *err, size_t errlen)
{
    char *hash = strchr(l, '#');
    if (hash) *hash = 0;
    while (isspace((unsigned char)*l)) l++;
    char *end = l + strlen(l);
    while (end > l && isspace((unsigned char)end[-1])) *--end = 0;
    if (!*l) return 0;
    for (char *p = l; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return hosts_fail(err, errlen, path, no, "'%s': one host per line, without blanks inside", l);
    unsigned long n = 1;
    char *slash = strchr(l, '/');
    if (slash) {
        char *e;
        errno = 0;
        n = strtoul(l, &e, 10);
        if (e != slash || l == slash || errno || n < 1 || n > HOSTS_MAX_SLOTS || l[0] == '+' || l[0] == '-')
            return hosts_fail(err, errlen, path, no, "'%s': expected [N/]host with N from 1 to 4096", l);
        l = slash + 1;
    }
    if (!*l) return hosts_fail(err, errlen, path, no, "a slot count without a host");
    /* ssh would read "-x" as an option: never let a hosts file inject one */
    if (*l == '-') return hosts_fail(err, errlen, path, no, "'%s': a host name cannot start with '-'", l);
    if (strchr(l, '/')) return hosts_fail(err, errlen, path, no, "'%s': expected [N/]host", l);
    if (h->slots + n > HOSTS_MAX_SLOTS) return hosts_fail(err, errlen, path, no, "more than %d slots in all", HOSTS_MAX_SLOTS);
    struct host_entry *nv = realloc(h->v, (h->n + 1) * sizeof *nv);
    if (!nv) return BF_ENOMEM;
    h->v = nv;
    if (!(nv[h->n].name = strdup(l))) return BF_ENOMEM;
    nv[h->n++].slots = (uint32_t)n;
    h->slots += (uint32_t)n;
    return 0;
}

int hosts_load(const char *path, struct hosts *h, char *err, size_t errlen)
{
    *h = (struct hosts)HOSTS_INIT;
    FILE *f = fopen(path, "re");
    if (!f) return hosts_fail(err, errlen, path, 0, "%s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    unsigned no = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) > 0) rc = hosts_line(h, line, path, ++no, err, errlen);
    free(line);
    fclose(f);
    if (rc == 0 && h->slots == 0) rc = hosts_fail(err, errlen, path, 0, "no hosts in it");
    if (rc == BF_ENOMEM) snprintf(err, errlen, "%s: out of memory", path);
    if (rc < 0) hosts_release(h);
    return rc;
}

void hosts_release(struct hosts *h)
{
    for (size_t i = 0; i < h->n; i++) free(h->v[i].name);
    free(h->v);
    *h = (struct hosts)HOSTS_INIT;
}

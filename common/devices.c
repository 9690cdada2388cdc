/* devices.c: GPU discovery without CUDA (see devices.h). */
#include "compat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"

static int parse_ids(const char *s, int *ids, int max, char *err, size_t errlen)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10);
        if (end == p || a < 0 || a >= 1024) goto bad;
        long b = a;
        if (*end == '-') {
            p = end + 1;
            b = strtol(p, &end, 10);
            if (end == p || b < a || b >= 1024) goto bad;
        }
        for (long i = a; i <= b; i++) {
            if (n >= max) {
                snprintf(err, errlen, "more than %d devices in '%s'", max, s);
                return -1;
            }
            ids[n++] = (int)i;
        }
        if (*end == ',') end++;
        else if (*end) goto bad;
        p = end;
    }
    return n;
bad:
    snprintf(err, errlen, "bad device list '%s' (want e.g. 0,1 or 0-3, all, none)", s);
    return -1;
}

int devices_discover(int *ids, int max)
{
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    if (visible) {
        char err[128];
        int n = parse_ids(visible, ids, max, err, sizeof err);
        return n < 0 ? 0 : n; /* UUID lists and the like: let the worker tell (0 here) */
    }
    DIR *d = opendir("/proc/driver/nvidia/gpus");
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (e->d_name[0] != '.') n++;
    }
    closedir(d);
    for (int i = 0; i < n; i++) ids[i] = i;
    return n;
}

int devices_parse_list(const char *list, int *ids, int max, char *err, size_t errlen)
{
    if (strcmp(list, "all") == 0) return devices_discover(ids, max);
    if (strcmp(list, "none") == 0 || *list == '\0') return 0;
    return parse_ids(list, ids, max, err, errlen);
}

/* hpsweep/report.h: report metrics from a C or C++ trainer to hpsweep. Header-only, C99 and
 * C++ compatible, no dependencies beyond libc (POSIX write/getenv).
 *
 *   #include <hpsweep/report.h>
 *   const char* names[] = {"loss", "acc"};
 *   double values[] = {0.25, 0.91};
 *   hpsweep_report(step, 2, names, values);    // or hpsweep_report1(step, "loss", 0.25)
 *
 * Where it goes: when HPSWEEP_METRICS_FD names an open file descriptor (hpsweep-launch opens
 * a pipe for the trial), one line "HPSWEEP_METRIC step=S name=value ...\n" is written to it
 * in a single write() (lines are short, so pipe writes are atomic). Without the variable the
 * same line is printed on stdout and stdout is flushed: the launcher reads it from there.
 *
 * Only rank 0 reports by default (RANK unset or "0"); set HPSWEEP_REPORT_ALL_RANKS=1 to
 * report from every rank. Names must be [A-Za-z0-9_.:/-]+ (docs/metrics-format.md).
 * Returns 0 on success (or when this rank does not report), -1 on a write error or a line
 * longer than HPSWEEP_REPORT_MAX_LINE. */
#ifndef HPSWEEP_REPORT_H
#define HPSWEEP_REPORT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HPSWEEP_REPORT_MAX_LINE
#define HPSWEEP_REPORT_MAX_LINE 4096 /* PIPE_BUF: one atomic pipe write */
#endif

#ifdef __cplusplus
extern "C" {
#endif

static inline int hpsweep_report_enabled(void) {
    const char* all = getenv("HPSWEEP_REPORT_ALL_RANKS");
    const char* rank = getenv("RANK");
    if (all != NULL && strcmp(all, "1") == 0) return 1;
    return rank == NULL || rank[0] == '\0' || strcmp(rank, "0") == 0;
}

/* The descriptor from HPSWEEP_METRICS_FD, or -1 when unset or not a number. */
static inline int hpsweep_report_fd(void) {
    const char* text = getenv("HPSWEEP_METRICS_FD");
    char* end = NULL;
    long fd;
    if (text == NULL || text[0] == '\0') return -1;
    fd = strtol(text, &end, 10);
    if (end == NULL || *end != '\0' || fd < 0 || fd > 1048576) return -1;
    return (int)fd;
}

static inline int hpsweep_report_write_line(const char* line, size_t length) {
    const int fd = hpsweep_report_fd();
    if (fd < 0) {
        if (fwrite(line, 1, length, stdout) != length) return -1;
        return fflush(stdout) == 0 ? 0 : -1;
    }
    while (length > 0) {
        const ssize_t written = write(fd, line, length);
        if (written < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        line += written;
        length -= (size_t)written;
    }
    return 0;
}

/* Reports `count` values for one step (step < 0: no step, the launcher numbers them). */
static inline int hpsweep_report(long long step, int count, const char* const* names,
                                 const double* values) {
    char line[HPSWEEP_REPORT_MAX_LINE];
    size_t used = 0;
    int i;
    int n;
    if (!hpsweep_report_enabled()) return 0;
    n = step >= 0 ? snprintf(line, sizeof line, "HPSWEEP_METRIC step=%lld", step)
                  : snprintf(line, sizeof line, "HPSWEEP_METRIC");
    if (n < 0 || (size_t)n >= sizeof line) return -1;
    used = (size_t)n;
    for (i = 0; i < count; ++i) {
        n = snprintf(line + used, sizeof line - used, " %s=%.17g", names[i], values[i]);
        if (n < 0 || (size_t)n >= sizeof line - used) return -1;
        used += (size_t)n;
    }
    if (used + 1 >= sizeof line) return -1;
    line[used++] = '\n';
    return hpsweep_report_write_line(line, used);
}

static inline int hpsweep_report1(long long step, const char* name, double value) {
    return hpsweep_report(step, 1, &name, &value);
}

#ifdef __cplusplus
}
#endif

#endif /* HPSWEEP_REPORT_H */

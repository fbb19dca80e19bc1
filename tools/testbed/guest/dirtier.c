/*
 * dirtier: guest workload for the nova-livemig testbed.
 *
 * Dirties a working set of WWS MiB at DIRTY MiB/s and checks its own memory.
 * Parameters come from the kernel command line: dirty_mib_s=N wws_mib=N
 * (and optionally report_s=N, scan_s=N).
 *
 * Every 4 KiB page i of the working set holds 512 words; word w equals
 * stamp(i, gen[i], w).  Before a page is rewritten it is checked; every
 * scan_s seconds the whole working set is checked.  A lost dirty page after
 * a migration shows up as a page holding an older generation.
 *
 * Prints one status line every report_s seconds on stdout (the serial port):
 *   DIRTIER ok seq=S gen=G writes=W scans=C corrupt=0 wws_mib=.. dirty_mib_s=..
 *   DIRTIER CORRUPT page=I word=J got=0x.. want=0x..   (first errors only)
 * Once corruption is seen every later status line starts "DIRTIER CORRUPT".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096
#define WORDS (PAGE / 8)

static uint64_t *mem;
static uint32_t *gen;
static uint64_t npages;
static uint64_t corrupt;

static inline uint64_t stamp(uint64_t page, uint64_t g, uint64_t w)
{
    return (page << 40) ^ (g << 12) ^ w ^ 0x9e3779b97f4a7c15ULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long cmdline_param(const char *name, long dflt)
{
    static char buf[4096];
    FILE *f = fopen("/proc/cmdline", "r");
    size_t n;
    char key[64];
    char *p;

    if (!f)
        return dflt;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    snprintf(key, sizeof(key), "%s=", name);
    for (p = strtok(buf, " \n"); p; p = strtok(NULL, " \n"))
        if (!strncmp(p, key, strlen(key)))
            return strtol(p + strlen(key), NULL, 10);
    return dflt;
}

static void check_page(uint64_t i)
{
    uint64_t *p = mem + i * WORDS;
    uint64_t w;

    for (w = 0; w < WORDS; w++) {
        uint64_t want = stamp(i, gen[i], w);
        if (p[w] != want) {
            corrupt++;
            if (corrupt <= 20)
                printf("DIRTIER CORRUPT page=%llu word=%llu got=0x%016llx "
                       "want=0x%016llx gen=%u\n",
                       (unsigned long long)i, (unsigned long long)w,
                       (unsigned long long)p[w], (unsigned long long)want,
                       gen[i]);
            break;
        }
    }
}

static void write_page(uint64_t i)
{
    uint64_t *p = mem + i * WORDS;
    uint64_t w;

    gen[i]++;
    for (w = 0; w < WORDS; w++)
        p[w] = stamp(i, gen[i], w);
}

int main(void)
{
    long dirty_mib_s = cmdline_param("dirty_mib_s", 2);
    long wws_mib = cmdline_param("wws_mib", 64);
    long report_s = cmdline_param("report_s", 1);
    long scan_s = cmdline_param("scan_s", 10);
    double pages_per_s = dirty_mib_s * 256.0;
    double start, last_report, last_scan, credit = 0, t_prev;
    uint64_t cursor = 0, writes = 0, scans = 0, seq = 0, i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (wws_mib < 1)
        wws_mib = 1;
    npages = (uint64_t)wws_mib * 256;
    mem = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    gen = calloc(npages, sizeof(*gen));
    if (mem == MAP_FAILED || !gen) {
        printf("DIRTIER FAILED cannot allocate %ld MiB\n", wws_mib);
        return 1;
    }
    for (i = 0; i < npages; i++)
        write_page(i);
    printf("DIRTIER start wws_mib=%ld dirty_mib_s=%ld\n", wws_mib, dirty_mib_s);

    start = last_report = last_scan = t_prev = now();
    for (;;) {
        struct timespec nap = {0, 10 * 1000 * 1000};
        double t = now();

        credit += (t - t_prev) * pages_per_s;
        t_prev = t;
        if (credit > pages_per_s)        /* do not burst after a pause */
            credit = pages_per_s;
        while (credit >= 1) {
            check_page(cursor);
            write_page(cursor);
            cursor = (cursor + 1) % npages;
            writes++;
            credit -= 1;
        }
        if (t - last_scan >= scan_s) {
            for (i = 0; i < npages; i++)
                check_page(i);
            scans++;
            last_scan = t;
        }
        if (t - last_report >= report_s) {
            printf("DIRTIER %s seq=%llu gen=%llu writes=%llu scans=%llu "
                   "corrupt=%llu wws_mib=%ld dirty_mib_s=%ld uptime_s=%.0f\n",
                   corrupt ? "CORRUPT" : "ok", (unsigned long long)++seq,
                   (unsigned long long)(writes / npages),
                   (unsigned long long)writes, (unsigned long long)scans,
                   (unsigned long long)corrupt, wws_mib, dirty_mib_s,
                   t - start);
            last_report = t;
        }
        nanosleep(&nap, NULL);
    }
}

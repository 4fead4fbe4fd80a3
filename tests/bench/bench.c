/* `bench [section...]`: prints throughput figures for the physical limits
 * the node works within (crypto, formats, chain). No section = all. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "bench.h"
#include "crypto/sig.h"

void bench_report(const char *name, double count, double seconds, const char *unit)
{
    printf("%-44s %14.0f %s/s  (%.0f in %.2f s)\n", name, count / seconds, unit, count, seconds);
    fflush(stdout);
}

struct section {
    const char *name;
    void (*run)(void);
};

static const struct section SECTIONS[] = {
    { "formats", bench_formats },
    { "chain", bench_chain },
    { "v2", bench_v2 },
    { "ingest", bench_ingest },
    { "ingest-tcp", bench_ingest_tcp },
    { "headers", bench_headers },
};

int main(int argc, char **argv)
{
    struct utsname u;
    if (sig_init() != 0) return 1;
    if (uname(&u) == 0) printf("# %s %s %s\n", u.sysname, u.release, u.machine);
    for (size_t i = 0; i < sizeof SECTIONS / sizeof SECTIONS[0]; i++) {
        bool want = argc < 2;
        for (int a = 1; a < argc; a++) want |= strcmp(argv[a], SECTIONS[i].name) == 0;
        if (!want) continue;
        printf("## %s\n", SECTIONS[i].name);
        SECTIONS[i].run();
    }
    return 0;
}

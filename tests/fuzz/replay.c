/* Corpus replayer: runs a fuzz target over every file in the directories
 * (or files) named on the command line, so a gcc build without libFuzzer
 * still exercises the corpus in CI. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* A target may define it: called after the replay, non-zero fails it (a
 * decoder the corpus never reached). Weak: most targets do not. */
int fuzz_replay_check(void) __attribute__((weak));

#define REPLAY_FILE_MAX (8u * 1024 * 1024)

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *buf = malloc(REPLAY_FILE_MAX);
    size_t n = buf ? fread(buf, 1, REPLAY_FILE_MAX, f) : 0;
    fclose(f);
    if (!buf) return -1;
    LLVMFuzzerTestOneInput(buf, n);
    /* Every prefix too: truncation is the commonest malformed input. */
    for (size_t cut = 0; cut < n; cut += 1 + n / 64) LLVMFuzzerTestOneInput(buf, cut);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) != 0) return 1;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) return 1;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (run_file(path) != 0) {
                closedir(d);
                return 1;
            }
            files++;
        }
        closedir(d);
    }
    printf("replayed %u inputs\n", files);
    if (fuzz_replay_check && fuzz_replay_check() != 0) return 1;
    return files ? 0 : 1;
}

/* Runs fuzz inputs through a target's LLVMFuzzerTestOneInput without
 * libFuzzer, so gcc builds (with ASan+UBSan) replay every corpus file in
 * `make check`. Arguments are files or directories (every regular file in
 * them, not recursing). Each input runs in a child process, so a crash is
 * counted against its file and the rest still run. Prints one line per
 * failing file and a summary "<target>: N files, M failed" (not in the
 * "passed, failed" form: fuzz/fuzz.mk sums the targets into one line).
 * Exit status 1 if any input failed. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fuzz_common.h"

static unsigned files, failed;

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n == cap) {
			uint8_t *q;
			cap = cap ? cap * 2 : 4096;
			q = realloc(p, cap);
			if (!q) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = q;
		}
		r = fread(p + n, 1, cap - n, f);
		n += r;
	} while (r);
	fclose(f);
	*len = n;
	return p;
}

static void run_file(const char *path)
{
	pid_t pid;
	int status;

	files++;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		size_t len = 0;
		uint8_t *data = slurp(path, &len), *copy;
		if (!data) {
			fprintf(stderr, "cannot read %s\n", path);
			_exit(3);
		}
		/* An exact-size copy, as libFuzzer gives: overreads show. */
		copy = malloc(len ? len : 1);
		if (!copy)
			_exit(3);
		memcpy(copy, data, len);
		free(data);
		LLVMFuzzerTestOneInput(copy, len);
		free(copy);
		exit(0); /* exit, not _exit: LeakSanitizer runs at exit */
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		exit(2);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		failed++;
		if (WIFSIGNALED(status))
			printf("  FAILED %s (signal %d)\n", path, WTERMSIG(status));
		else
			printf("  FAILED %s (exit %d)\n", path, WEXITSTATUS(status));
	}
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		printf("  FAILED %s (cannot open)\n", dir);
		failed++;
		return;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		char *path;
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		path = malloc(len);
		if (!path)
			exit(2);
		snprintf(path, len, "%s/%s", dir, e->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof *names);
			if (!names)
				exit(2);
		}
		names[n++] = path;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp);
	for (size_t i = 0; i < n; i++) {
		run_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');

	name = name ? name + 1 : argv[0];
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run_file(argv[i]);
	}
	printf("%s: %u files, %u failed\n", name, files, failed);
	return failed ? 1 : 0;
}

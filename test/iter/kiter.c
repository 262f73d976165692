// Kernel oracle for tsbpf's iterator runtime: loads an object with libbpf, fills a hash or
// array map, attaches an iter/bpf_map_elem program to it and reads the iterator fd to the end
// (what `cat` on a pinned iterator does, without touching /sys/fs/bpf).
// Usage: kiter OBJ.o PROG MAP|- [--rodata NAME=HEX]... [--read-size N] [KEYHEX=VALUEHEX]...
// Output: the iterator's bytes on stdout; "read-error: <errno>" on stderr if read() failed.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int hex_to_bytes(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return (int)(n / 2);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: kiter OBJ PROG MAP [--rodata NAME=HEX] [--read-size N] [K=V]...\n");
		return 2;
	}
	size_t read_size = 4096;
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--read-size") && i + 1 < argc) {
			read_size = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--rodata") && i + 1 < argc) {
			char *spec = argv[++i], *eq = strchr(spec, '=');
			if (!eq)
				return 2;
			*eq = 0;
			struct bpf_map *ro = NULL, *m;
			bpf_object__for_each_map(m, obj)
			{
				const char *n = bpf_map__name(m), *dot = strrchr(n, '.');
				if (dot && !strcmp(dot, ".rodata"))
					ro = m;
			}
			if (!ro)
				return 2;
			size_t sz;
			unsigned char *data = (unsigned char *)bpf_map__initial_value(ro, &sz);
			struct btf *btf = bpf_object__btf(obj);
			int sec_id = btf ? btf__find_by_name(btf, ".rodata") : -1;
			const struct btf_type *sec = sec_id > 0 ? btf__type_by_id(btf, sec_id) : NULL;
			if (!data || !sec)
				return 2;
			const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
			int found = 0;
			for (int k = 0; k < btf_vlen(sec); k++, vs++) {
				const struct btf_type *var = btf__type_by_id(btf, vs->type);
				if (strcmp(btf__name_by_offset(btf, var->name_off), spec))
					continue;
				if (hex_to_bytes(eq + 1, data + vs->offset, vs->size) < 0)
					return 2;
				found = 1;
			}
			if (!found) {
				fprintf(stderr, "no rodata variable %s\n", spec);
				return 2;
			}
		}
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return 1;
	}
	struct bpf_map *map = bpf_object__find_map_by_name(obj, argv[3]);
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, argv[2]);
	if ((!map && strcmp(argv[3], "-")) || !prog) {
		fprintf(stderr, "no map %s or program %s\n", argv[3], argv[2]);
		return 2;
	}
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--read-size") || !strcmp(argv[i], "--rodata")) {
			i++;
			continue;
		}
		char *eq = strchr(argv[i], '=');
		unsigned char key[256], value[4096];
		if (!eq)
			return 2;
		*eq = 0;
		if (hex_to_bytes(argv[i], key, sizeof(key)) != (int)bpf_map__key_size(map) ||
		    hex_to_bytes(eq + 1, value, sizeof(value)) != (int)bpf_map__value_size(map)) {
			fprintf(stderr, "bad element %s\n", argv[i]);
			return 2;
		}
		if (bpf_map_update_elem(bpf_map__fd(map), key, value, BPF_ANY)) {
			fprintf(stderr, "update: %s\n", strerror(errno));
			return 1;
		}
	}
	union bpf_iter_link_info linfo = { .map.map_fd = map ? bpf_map__fd(map) : 0 };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo, .link_info_len = sizeof(linfo));
	struct bpf_link *link = bpf_program__attach_iter(prog, map ? &opts : NULL);
	if (!link) {
		fprintf(stderr, "attach_iter: %s\n", strerror(errno));
		return 1;
	}
	int fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		fprintf(stderr, "iter_create: %s\n", strerror(errno));
		return 1;
	}
	char *buf = malloc(read_size);
	for (;;) {
		ssize_t n = read(fd, buf, read_size);
		if (n < 0) {
			fprintf(stderr, "read-error: %d\n", errno);
			break;
		}
		if (n == 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	fflush(stdout);
	close(fd);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return 0;
}

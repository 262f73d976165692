// kuserrb: the kernel side of test/runtime/user-ringbuf-run.test.ts. Loads one program of an
// object through libbpf, writes samples into its BPF_MAP_TYPE_USER_RINGBUF map "urb" as a
// user-space producer does (libbpf user_ring_buffer__reserve/submit/discard), test-runs the
// program (BPF_PROG_TEST_RUN, 64 zero bytes of data) and prints what came out.
//
// Build:  gcc -O2 -Wall -o kuserrb kuserrb.c -lbpf -lelf -lz
//   kuserrb OBJ PROG [--sample HEX | --discard HEX | --busy N]...
//     --sample HEX   reserve, fill and submit a sample
//     --discard HEX  reserve, fill and discard a sample
//     --busy N       reserve N bytes and never submit them (the drain stops there)
// Output: "retval: N", then "bss: HEX" (the object's .bss after the run).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = strlen(s) / 2;
	if (n > max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = v;
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kuserrb OBJ PROG [--sample HEX | --discard HEX | --busy N]...\n");
		return 2;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct bpf_program *prog, *p;
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog) {
		fprintf(stderr, "no program %s\n", argv[2]);
		return 1;
	}
	bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, p == prog);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return 1;
	}
	struct bpf_map *urb = bpf_object__find_map_by_name(obj, "urb");
	struct user_ring_buffer *rb = urb ? user_ring_buffer__new(bpf_map__fd(urb), NULL) : NULL;
	if (!rb) {
		fprintf(stderr, "user ring buffer: %s\n", strerror(errno));
		return 1;
	}
	unsigned char buf[4096];
	for (int i = 3; i + 1 < argc; i += 2) {
		int busy = !strcmp(argv[i], "--busy");
		int n = busy ? atoi(argv[i + 1]) : unhex(argv[i + 1], buf, sizeof(buf));
		if (n < 0) {
			fprintf(stderr, "bad sample %s\n", argv[i + 1]);
			return 2;
		}
		void *s = user_ring_buffer__reserve(rb, n);
		if (!s) {
			fprintf(stderr, "reserve %d: %s\n", n, strerror(errno));
			return 1;
		}
		if (busy)
			continue;
		memcpy(s, buf, n);
		if (!strcmp(argv[i], "--discard"))
			user_ring_buffer__discard(rb, s);
		else
			user_ring_buffer__submit(rb, s);
	}
	unsigned char data[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = sizeof(data), .repeat = 1);
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts)) {
		fprintf(stderr, "test run: %s\n", strerror(errno));
		return 1;
	}
	printf("retval: %d\n", (int)opts.retval);
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj)
	{
		const char *name = bpf_map__name(m);
		size_t len = strlen(name);
		if (len < 4 || strcmp(name + len - 4, ".bss"))
			continue;
		unsigned vs = bpf_map__value_size(m);
		unsigned char *v = calloc(1, vs);
		int key = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(m), &key, v))
			return 1;
		printf("bss: ");
		for (unsigned j = 0; j < vs; j++)
			printf("%02x", v[j]);
		printf("\n");
		free(v);
	}
	user_ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}

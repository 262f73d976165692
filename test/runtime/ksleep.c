// ksleep: the kernel oracle for sleepable syscall programs that read user memory.
// kbpf and kobj take the syscall ctx from a file, so it cannot hold a valid user
// pointer; this tool builds the ctx itself, with pointers into its own buffers, loads
// the object with libbpf (syscall programs are loaded sleepable), test-runs one
// program and prints what tsbpf's test compares.
//
// usage: ksleep OBJ.o PROG [--buf HEX]... --ctx FIELD[,FIELD...]
//   --buf HEX    a user buffer (hex bytes); the i-th one is bufI
//   --ctx        the ctx, field by field: bufI (u64 pointer to buffer I), u64:V, u32:V
// output ("key: value" lines):
//   retval: N          (decimal, u32)
//   ctx_out: HEX
//   map NAME[KEYHEX]: VALUEHEX    for every array map, every key
//   ringbuf NAME: HEX  for every record committed to a ring buffer map
//   run_error: TEXT    (exit 3); load failures exit 2
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUFS 8

static void die(int code, const char *msg) {
  fprintf(stderr, "ksleep: %s\n", msg);
  exit(code);
}

static uint8_t *unhex(const char *s, size_t *len) {
  size_t n = strlen(s) / 2;
  uint8_t *b = calloc(n ? n : 1, 1);
  for (size_t i = 0; i < n; i++) sscanf(s + 2 * i, "%2hhx", &b[i]);
  *len = n;
  return b;
}

static void hex(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
}

static int on_record(void *ctx, void *data, size_t size) {
  printf("ringbuf %s: ", (const char *)ctx);
  hex(data, size);
  printf("\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) die(1, "usage: ksleep OBJ.o PROG [--buf HEX]... --ctx FIELDS");
  uint8_t *bufs[MAX_BUFS];
  size_t nbufs = 0;
  const char *ctxSpec = NULL;
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--buf") && i + 1 < argc && nbufs < MAX_BUFS) {
      size_t n;
      bufs[nbufs++] = unhex(argv[++i], &n);
    } else if (!strcmp(argv[i], "--ctx") && i + 1 < argc) ctxSpec = argv[++i];
    else die(1, "bad arguments");
  }
  uint8_t ctx[256];
  size_t ctxLen = 0;
  char *spec = strdup(ctxSpec ? ctxSpec : "");
  for (char *f = strtok(spec, ","); f; f = strtok(NULL, ",")) {
    if (f[0] == 'b' && !strncmp(f, "buf", 3)) {
      unsigned k = (unsigned)atoi(f + 3);
      if (k >= nbufs) die(1, "--ctx names a buffer that was not given");
      uint64_t p = (uint64_t)(uintptr_t)bufs[k];
      memcpy(ctx + ctxLen, &p, 8);
      ctxLen += 8;
    } else if (!strncmp(f, "u64:", 4)) {
      uint64_t v = strtoull(f + 4, 0, 0);
      memcpy(ctx + ctxLen, &v, 8);
      ctxLen += 8;
    } else if (!strncmp(f, "u32:", 4)) {
      uint32_t v = (uint32_t)strtoul(f + 4, 0, 0);
      memcpy(ctx + ctxLen, &v, 4);
      ctxLen += 4;
    } else die(1, "bad --ctx field");
    if (ctxLen > sizeof(ctx) - 8) die(1, "ctx too long");
  }

  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj) die(2, "cannot open the object");
  struct bpf_program *prog;
  bpf_object__for_each_program(prog, obj) bpf_program__set_autoload(prog, !strcmp(bpf_program__name(prog), argv[2]));
  if (bpf_object__load(obj)) die(2, "the kernel refused the object");
  prog = bpf_object__find_program_by_name(obj, argv[2]);
  if (!prog) die(2, "no such program");

  // kernel: bpf_prog_test_run_syscall() refuses ctx_out and copies the ctx back into ctx_in.
  LIBBPF_OPTS(bpf_test_run_opts, r, .ctx_in = ctx, .ctx_size_in = (uint32_t)ctxLen);
  if (bpf_prog_test_run_opts(bpf_program__fd(prog), &r)) {
    printf("run_error: %s\n", strerror(errno));
    return 3;
  }
  printf("retval: %u\nctx_out: ", r.retval);
  hex(ctx, ctxLen);
  printf("\n");

  struct bpf_map *map;
  bpf_object__for_each_map(map, obj) {
    int fd = bpf_map__fd(map);
    const char *name = bpf_map__name(map);
    if (bpf_map__type(map) == BPF_MAP_TYPE_ARRAY) {
      uint32_t vs = bpf_map__value_size(map);
      uint8_t *v = malloc(vs);
      for (uint32_t k = 0; k < bpf_map__max_entries(map); k++) {
        if (bpf_map_lookup_elem(fd, &k, v)) continue;
        printf("map %s[", name);
        hex((uint8_t *)&k, 4);
        printf("]: ");
        hex(v, vs);
        printf("\n");
      }
      free(v);
    } else if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF) {
      struct ring_buffer *rb = ring_buffer__new(fd, on_record, (void *)name, NULL);
      if (rb) {
        ring_buffer__consume(rb);
        ring_buffer__free(rb);
      }
    }
  }
  bpf_object__close(obj);
  return 0;
}

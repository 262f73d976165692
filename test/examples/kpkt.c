// kpkt: run one program of a clang-built object over every packet of a pcap
// file in the running kernel (BPF_PROG_TEST_RUN), after filling maps, and
// print each verdict and the maps at the end.  The packet-stream companion of
// kobj (which cannot fill maps and runs one input): maps keep their state from
// packet to packet, as on a real interface.
//
// Build:  gcc -O2 -Wall -o kpkt kpkt.c -lbpf -lelf -lz
//   kpkt [--map NAME KEYHEX VALUEHEX]... [--data-out] OBJ PROG PCAP
//     --map       bpf_map_update_elem before the first packet; for per-CPU maps
//                 VALUEHEX is the value of every CPU
//     --data-out  also print each packet as the program left it
// Output: "pkt N retval R" (+ " out HEX") per packet, then for every array and
// hash map "map NAME[KEYHEX]: VALUEHEX" for each entry whose value is not all
// zero (per-CPU maps: the CPUs' values space separated).
// Exit: 0 fine, 2 bad input or libbpf/kernel error.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *fmt, const char *arg) {
  fprintf(stderr, "kpkt: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  exit(2);
}

static unsigned char *parse_hex(const char *s, size_t *len) {
  size_t n = strlen(s);
  if (n % 2) die("odd-length hex: %s", s);
  unsigned char *b = malloc(n / 2 + 1);
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) die("bad hex: %s", s);
    b[i] = v;
  }
  *len = n / 2;
  return b;
}

static void hex(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

static int is_percpu(enum bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static int all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

static void dump_map(struct bpf_map *m, int ncpu) {
  enum bpf_map_type t = bpf_map__type(m);
  if (t != BPF_MAP_TYPE_ARRAY && t != BPF_MAP_TYPE_HASH && t != BPF_MAP_TYPE_LRU_HASH && !is_percpu(t)) return;
  int fd = bpf_map__fd(m);
  size_t ks = bpf_map__key_size(m), vs = bpf_map__value_size(m);
  size_t stride = (vs + 7) / 8 * 8, total = is_percpu(t) ? stride * ncpu : vs;
  unsigned char *key = calloc(1, ks), *next = calloc(1, ks), *val = calloc(1, total);
  int first = 1;
  while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
    first = 0;
    memcpy(key, next, ks);
    if (bpf_map_lookup_elem(fd, key, val)) continue;
    if (all_zero(val, total)) continue;
    printf("map %s[", bpf_map__name(m));
    hex(key, ks);
    printf("]:");
    for (int c = 0; c < (is_percpu(t) ? ncpu : 1); c++) {
      putchar(' ');
      hex(val + c * stride, vs);
    }
    putchar('\n');
  }
  free(key);
  free(next);
  free(val);
}

int main(int argc, char **argv) {
  int a = 1, data_out = 0;
  struct { const char *name, *key, *value; } sets[256];
  int nsets = 0;
  for (; a < argc && !strncmp(argv[a], "--", 2); a++) {
    if (!strcmp(argv[a], "--map") && a + 3 < argc && nsets < 256) {
      sets[nsets].name = argv[a + 1], sets[nsets].key = argv[a + 2], sets[nsets].value = argv[a + 3];
      nsets++, a += 3;
    } else if (!strcmp(argv[a], "--data-out")) {
      data_out = 1;
    } else {
      die("unknown or incomplete option %s", argv[a]);
    }
  }
  if (argc - a != 3) die("%s", "usage: kpkt [--map NAME KEYHEX VALUEHEX]... [--data-out] OBJ PROG PCAP");
  const char *obj_path = argv[a], *prog_name = argv[a + 1], *pcap_path = argv[a + 2];

  struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
  if (!obj) die("cannot open %s", obj_path);
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, prog_name);
  if (!prog) die("no program %s", prog_name);
  struct bpf_program *p;
  bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, p == prog);
  if (bpf_object__load(obj)) die("loading %s failed", obj_path);
  int ncpu = libbpf_num_possible_cpus();

  for (int i = 0; i < nsets; i++) {
    struct bpf_map *m = bpf_object__find_map_by_name(obj, sets[i].name);
    if (!m) die("no map %s", sets[i].name);
    size_t kl, vl;
    unsigned char *k = parse_hex(sets[i].key, &kl), *v = parse_hex(sets[i].value, &vl);
    if (kl != bpf_map__key_size(m) || vl != bpf_map__value_size(m)) die("key or value size mismatch for %s", sets[i].name);
    unsigned char *buf = v;
    if (is_percpu(bpf_map__type(m))) {
      size_t stride = (vl + 7) / 8 * 8;
      buf = calloc(ncpu, stride);
      for (int c = 0; c < ncpu; c++) memcpy(buf + c * stride, v, vl);
    }
    if (bpf_map_update_elem(bpf_map__fd(m), k, buf, BPF_ANY)) die("update of %s failed", sets[i].name);
  }

  FILE *f = fopen(pcap_path, "rb");
  if (!f) die("cannot open %s", pcap_path);
  uint32_t gh[6];
  if (fread(gh, 4, 6, f) != 6 || gh[0] != 0xa1b2c3d4) die("%s: not a little-endian microsecond pcap", pcap_path);
  int fd = bpf_program__fd(prog);
  unsigned char in[65536], out[65536 + 4096];
  for (unsigned n = 0;; n++) {
    uint32_t rh[4];
    if (fread(rh, 4, 4, f) != 4) break;
    if (rh[2] > sizeof in) die("%s: record too large", pcap_path);
    if (fread(in, 1, rh[2], f) != rh[2]) die("%s: truncated record", pcap_path);
    LIBBPF_OPTS(bpf_test_run_opts, r, .data_in = in, .data_size_in = rh[2], .data_out = out,
                .data_size_out = sizeof out, .repeat = 1);
    if (bpf_prog_test_run_opts(fd, &r)) {
      printf("pkt %u error %d %s\n", n, errno, strerror(errno));
      continue;
    }
    printf("pkt %u retval %u", n, r.retval);
    if (data_out) {
      printf(" out ");
      hex(out, r.data_size_out);
    }
    putchar('\n');
  }
  fclose(f);
  struct bpf_map *m;
  bpf_object__for_each_map(m, obj) dump_map(m, ncpu);
  return 0;
}

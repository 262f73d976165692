// kpkt: runs one program of a clang-built object over every packet of a pcap
// file in the running kernel (BPF_PROG_TEST_RUN), after filling maps, printing
// each verdict and the ring-buffer records that packet produced, then the maps.
// The packet-stream companion of kobj (which cannot fill maps and runs one
// input): maps keep their state from packet to packet, as on a real interface.
//
// Build:  gcc -O2 -Wall -o kpkt kpkt.c -lbpf -lelf -lz
//   kpkt [--rodata SYM=HEX]... [--map NAME KEYHEX VALUEHEX]... [--data-out] OBJ PROG PCAP
//     --rodata    patch a .rodata/.data variable before load
//     --map       bpf_map_update_elem before the first packet; for per-CPU maps
//                 VALUEHEX is the value of every CPU
//     --data-out  also print each packet as the program left it
// Output: "pkt N retval R" (+ " out HEX"), then "ringbuf NAME HEX" per record it submitted;
// at the end "map NAME[KEYHEX]: VALUEHEX" for every entry of every array, hash
// and LPM trie map whose value is not all zero (per-CPU maps: one value per CPU).
// Exit: 0 fine, 2 bad input or libbpf/kernel error.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const char *arg) {
  fprintf(stderr, "kpkt: %s %s\n", what, arg);
  exit(2);
}

static unsigned char *unhex(const char *s, size_t *len) {
  size_t n = strlen(s);
  if (n % 2) die("odd-length hex:", s);
  unsigned char *b = calloc(1, n / 2 + 1);
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) die("bad hex:", s);
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

// Overwrites global variable SYM in the initial image of its section's map.
static void set_global(struct bpf_object *obj, const char *sym, const unsigned char *bytes, size_t len) {
  struct btf *btf = bpf_object__btf(obj);
  if (!btf) die("no BTF for --rodata", sym);
  for (unsigned id = 1; id < btf__type_cnt(btf); id++) {
    const struct btf_type *t = btf__type_by_id(btf, id);
    if (!btf_is_datasec(t)) continue;
    const char *sec = btf__name_by_offset(btf, t->name_off);
    const struct btf_var_secinfo *vs = btf_var_secinfos(t);
    for (unsigned i = 0; i < btf_vlen(t); i++, vs++) {
      const struct btf_type *v = btf__type_by_id(btf, vs->type);
      if (!btf_is_var(v) || strcmp(btf__name_by_offset(btf, v->name_off), sym)) continue;
      if (len != vs->size) die("--rodata: wrong size for", sym);
      struct bpf_map *m;
      bpf_object__for_each_map(m, obj) {
        const char *mn = bpf_map__name(m);
        size_t ml = strlen(mn), sl = strlen(sec), size;
        if (!bpf_map__is_internal(m) || ml < sl || strcmp(mn + ml - sl, sec)) continue;
        unsigned char *img = (unsigned char *)bpf_map__initial_value(m, &size);
        if (!img || vs->offset + len > size) die("--rodata: no image for", sym);
        memcpy(img + vs->offset, bytes, len);
        return;
      }
    }
  }
  die("--rodata: no such variable", sym);
}

static void dump_map(struct bpf_map *m, int ncpu) {
  enum bpf_map_type t = bpf_map__type(m);
  if (t != BPF_MAP_TYPE_ARRAY && t != BPF_MAP_TYPE_HASH && t != BPF_MAP_TYPE_LPM_TRIE && !is_percpu(t)) return;
  int fd = bpf_map__fd(m);
  size_t ks = bpf_map__key_size(m), vs = bpf_map__value_size(m);
  size_t stride = (vs + 7) / 8 * 8, total = is_percpu(t) ? stride * ncpu : vs;
  unsigned char *key = calloc(1, ks), *next = calloc(1, ks), *val = calloc(1, total);
  int first = 1;
  while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
    first = 0;
    memcpy(key, next, ks);
    if (bpf_map_lookup_elem(fd, key, val)) continue;
    int zero = 1;
    for (size_t i = 0; i < total; i++) zero &= !val[i];
    if (zero) continue;
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

static int print_record(void *name, void *data, size_t size) {
  printf("ringbuf %s ", (const char *)name);
  hex(data, size);
  putchar('\n');
  return 0;
}

int main(int argc, char **argv) {
  struct { const char *a, *b, *c; } maps[256], globals[32];
  int nmaps = 0, nglobals = 0, a = 1, data_out = 0;
  for (; a < argc && !strncmp(argv[a], "--", 2); a++) {
    if (!strcmp(argv[a], "--map") && a + 3 < argc && nmaps < 256) {
      maps[nmaps].a = argv[a + 1], maps[nmaps].b = argv[a + 2], maps[nmaps].c = argv[a + 3];
      nmaps++, a += 3;
    } else if (!strcmp(argv[a], "--rodata") && a + 1 < argc && nglobals < 32) {
      char *eq = strchr(argv[a + 1], '=');
      if (!eq) die("--rodata wants SYM=HEX, not", argv[a + 1]);
      *eq = 0;
      globals[nglobals].a = argv[a + 1], globals[nglobals].b = eq + 1;
      nglobals++, a++;
    } else if (!strcmp(argv[a], "--data-out")) {
      data_out = 1;
    } else {
      die("unknown or incomplete option", argv[a]);
    }
  }
  if (argc - a != 3) die("usage:", "kpkt [--rodata SYM=HEX]... [--map NAME KEYHEX VALUEHEX]... [--data-out] OBJ PROG PCAP");
  const char *obj_path = argv[a], *prog_name = argv[a + 1], *pcap_path = argv[a + 2];

  struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
  if (!obj) die("cannot open", obj_path);
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, prog_name), *p;
  if (!prog) die("no program", prog_name);
  bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, p == prog);
  for (int i = 0; i < nglobals; i++) {
    size_t len;
    unsigned char *bytes = unhex(globals[i].b, &len);
    set_global(obj, globals[i].a, bytes, len);
  }
  if (bpf_object__load(obj)) die("loading failed:", obj_path);
  int ncpu = libbpf_num_possible_cpus();

  for (int i = 0; i < nmaps; i++) {
    struct bpf_map *m = bpf_object__find_map_by_name(obj, maps[i].a);
    if (!m) die("no map", maps[i].a);
    size_t kl, vl;
    unsigned char *k = unhex(maps[i].b, &kl), *v = unhex(maps[i].c, &vl), *buf = v;
    if (kl != bpf_map__key_size(m) || vl != bpf_map__value_size(m)) die("key or value size mismatch for", maps[i].a);
    if (is_percpu(bpf_map__type(m))) {
      size_t stride = (vl + 7) / 8 * 8;
      buf = calloc(ncpu, stride);
      for (int c = 0; c < ncpu; c++) memcpy(buf + c * stride, v, vl);
    }
    if (bpf_map_update_elem(bpf_map__fd(m), k, buf, BPF_ANY)) die("update failed for", maps[i].a);
  }

  // One ring_buffer manager for every ring buffer map, drained after each packet.
  struct ring_buffer *rb = NULL;
  struct bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    if (bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF) continue;
    void *name = (void *)bpf_map__name(m);
    if (!rb) rb = ring_buffer__new(bpf_map__fd(m), print_record, name, NULL);
    else if (ring_buffer__add(rb, bpf_map__fd(m), print_record, name)) die("ring_buffer__add failed for", name);
    if (!rb) die("ring_buffer__new failed for", name);
  }

  FILE *f = fopen(pcap_path, "rb");
  if (!f) die("cannot open", pcap_path);
  uint32_t gh[6];
  if (fread(gh, 4, 6, f) != 6 || gh[0] != 0xa1b2c3d4) die("not a little-endian microsecond pcap:", pcap_path);
  int fd = bpf_program__fd(prog);
  static unsigned char in[65536], out[65536 + 4096];
  for (unsigned n = 0;; n++) {
    uint32_t rh[4];
    if (fread(rh, 4, 4, f) != 4) break;
    if (rh[2] > sizeof in) die("record too large in", pcap_path);
    if (fread(in, 1, rh[2], f) != rh[2]) die("truncated record in", pcap_path);
    LIBBPF_OPTS(bpf_test_run_opts, r, .data_in = in, .data_size_in = rh[2], .data_out = out,
                .data_size_out = sizeof out, .repeat = 1);
    if (bpf_prog_test_run_opts(fd, &r)) printf("pkt %u error %d %s\n", n, errno, strerror(errno));
    else {
      printf("pkt %u retval %u", n, r.retval);
      if (data_out) {
        printf(" out ");
        hex(out, r.data_size_out);
      }
      putchar('\n');
    }
    if (rb) ring_buffer__consume(rb);
  }
  fclose(f);
  bpf_object__for_each_map(m, obj) dump_map(m, ncpu);
  return 0;
}

// kbtf: kbpf (/work/shared/tools/kbpf) with what the kernel needs to load a linked object
// program that kbpf cannot: the program's BTF with its func_info and line_info (bpf_loop and
// timer callbacks, global functions), maps with BTF key/value types (timers, spin locks),
// initial values and freezing (global data), maps of maps with their inner maps, more map
// types, and BTF-attached tracing programs (tp_btf, iter, fentry), whose attach_btf_id it
// looks up in the running kernel's BTF with libbpf. The files come from
// `tsbpf obj link --btf-out --func-info-out --line-info-out --json`.
//
//   kbtf [options] PROG.bin
//     --type T          program type (socket_filter, xdp, sched_cls, sched_act, cgroup_skb,
//                       syscall, tracepoint, kprobe, raw_tracepoint, perf_event, tracing)
//     --attach-type A   expected_attach_type (trace_raw_tp, trace_fentry, trace_fexit,
//                       modify_return, trace_iter)
//     --attach-btf K:N  attach_btf_id = the vmlinux BTF type named N of kind K (typedef, func),
//                       as libbpf's libbpf_find_vmlinux_btf_id()
//     --map SPEC        TYPE:KEY:VALUE:MAX[:FLAGS[:KEY_TYPE_ID:VALUE_TYPE_ID]]; repeatable, in
//                       lddw imm order. Type ids need --btf. TYPE as in tsbpf obj show.
//     --init I:HEX      after creating map I, store HEX as the value of key 0
//     --freeze I        freeze map I after --init (a .rodata map)
//     --inner I:SPEC    map I is a map of maps: create SPEC (TYPE:KEY:VALUE:MAX[:FLAGS]) first
//                       and pass it as inner_map_fd (then closed, as libbpf does)
//     --slot I:K:SPEC   after creating map I, create a map of SPEC and store its fd under the
//                       u32 key K of map I (the object's `values = {...}` initialiser)
//     --btf FILE        raw BTF, loaded with BPF_BTF_LOAD and passed as prog_btf_fd
//     --func-info FILE  struct bpf_func_info records
//     --line-info FILE  struct bpf_line_info records
//     --log N, --run, --data FILE, --ctx FILE, --repeat N, --dump-maps: as kbpf
// Output: kbpf's "key: value" lines (verdict, errno, insns_processed, retval, data_out,
// map<i>[k] for array maps, map<i>/<K>[k] for an array map in slot K of map i),
// attach_btf_id, and btf_errno and the BTF log when BPF_BTF_LOAD fails.
#include <bpf/btf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

static void *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  size_t cap = 1 << 16, n = 0, r;
  char *buf = malloc(cap);
  while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  *len = n;
  return buf;
}

struct name { const char *n; int t; };

static int lookup(const struct name *t, size_t n, const char *s, const char *what) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(s, t[i].n)) return t[i].t;
  fprintf(stderr, "kbtf: unknown %s %s\n", what, s);
  exit(2);
}

static const struct name prog_types[] = {
    {"socket_filter", BPF_PROG_TYPE_SOCKET_FILTER}, {"xdp", BPF_PROG_TYPE_XDP},
    {"sched_cls", BPF_PROG_TYPE_SCHED_CLS}, {"sched_act", BPF_PROG_TYPE_SCHED_ACT},
    {"cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB}, {"syscall", BPF_PROG_TYPE_SYSCALL},
    {"tracepoint", BPF_PROG_TYPE_TRACEPOINT}, {"kprobe", BPF_PROG_TYPE_KPROBE},
    {"raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT}, {"perf_event", BPF_PROG_TYPE_PERF_EVENT},
    {"tracing", BPF_PROG_TYPE_TRACING}};

static const struct name attach_types[] = {
    {"trace_raw_tp", BPF_TRACE_RAW_TP}, {"trace_fentry", BPF_TRACE_FENTRY},
    {"trace_fexit", BPF_TRACE_FEXIT}, {"modify_return", BPF_MODIFY_RETURN},
    {"trace_iter", BPF_TRACE_ITER}};

static const struct name btf_kinds[] = {{"typedef", BTF_KIND_TYPEDEF}, {"func", BTF_KIND_FUNC}};

static const struct name map_types[] = {
    {"hash", BPF_MAP_TYPE_HASH}, {"array", BPF_MAP_TYPE_ARRAY},
    {"prog_array", BPF_MAP_TYPE_PROG_ARRAY}, {"perf_event_array", BPF_MAP_TYPE_PERF_EVENT_ARRAY},
    {"percpu_hash", BPF_MAP_TYPE_PERCPU_HASH}, {"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY},
    {"lru_hash", BPF_MAP_TYPE_LRU_HASH}, {"lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH},
    {"lpm_trie", BPF_MAP_TYPE_LPM_TRIE}, {"devmap", BPF_MAP_TYPE_DEVMAP},
    {"cpumap", BPF_MAP_TYPE_CPUMAP}, {"xskmap", BPF_MAP_TYPE_XSKMAP},
    {"devmap_hash", BPF_MAP_TYPE_DEVMAP_HASH}, {"queue", BPF_MAP_TYPE_QUEUE},
    {"stack", BPF_MAP_TYPE_STACK}, {"ringbuf", BPF_MAP_TYPE_RINGBUF},
    {"bloom_filter", BPF_MAP_TYPE_BLOOM_FILTER}, {"array_of_maps", BPF_MAP_TYPE_ARRAY_OF_MAPS},
    {"hash_of_maps", BPF_MAP_TYPE_HASH_OF_MAPS}};

#define MAX_MAPS 64
struct map { int fd, type; unsigned key, value, max, flags, ktid, vtid; };

/** A map of SPEC (TYPE:KEY:VALUE:MAX[:FLAGS]) without BTF, as an inner map is made. */
static int plain_map(const char *spec, struct map *mp, int inner_fd) {
  char t[32];
  mp->flags = mp->ktid = mp->vtid = 0;
  int got = sscanf(spec, "%31[^:]:%u:%u:%u:%u", t, &mp->key, &mp->value, &mp->max, &mp->flags);
  if (got != 4 && got != 5) { fprintf(stderr, "kbtf: bad map spec %s\n", spec); exit(2); }
  mp->type = lookup(map_types, sizeof map_types / sizeof *map_types, t, "map type");
  union bpf_attr at = {0};
  at.map_type = mp->type;
  at.key_size = mp->key;
  at.value_size = mp->value;
  at.max_entries = mp->max;
  at.map_flags = mp->flags;
  at.inner_map_fd = inner_fd > 0 ? inner_fd : 0;
  mp->fd = bpf(BPF_MAP_CREATE, &at);
  if (mp->fd < 0) { fprintf(stderr, "kbtf: map create %s: %s\n", spec, strerror(errno)); exit(2); }
  return mp->fd;
}

#define MAX_SLOTS 64
struct slot { int outer; unsigned key; const char *spec; struct map m; };

static void hex(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}

static unsigned char *unhex(const char *s, size_t *n) {
  size_t len = strlen(s);
  unsigned char *out = malloc(len / 2 + 1);
  for (*n = 0; 2 * *n + 1 < len; (*n)++) sscanf(s + 2 * *n, "%2hhx", &out[*n]);
  return out;
}

int main(int argc, char **argv) {
  const char *type = "socket_filter", *data = NULL, *ctx = NULL, *path = NULL;
  const char *btf_path = NULL, *func_path = NULL, *line_path = NULL;
  const char *inits[MAX_MAPS] = {0}, *inners[MAX_MAPS] = {0};
  const char *attach_type = NULL, *attach_btf = NULL;
  struct slot slots[MAX_SLOTS];
  int nslots = 0;
  int freeze[MAX_MAPS] = {0};
  int log_level = 0, run = 0, dump = 0, nmaps = 0;
  unsigned repeat = 1;
  struct map maps[MAX_MAPS];
  const char *specs[MAX_MAPS];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--type") && i + 1 < argc) type = argv[++i];
    else if (!strcmp(a, "--log") && i + 1 < argc) log_level = atoi(argv[++i]);
    else if (!strcmp(a, "--run")) run = 1;
    else if (!strcmp(a, "--dump-maps")) dump = 1;
    else if (!strcmp(a, "--data") && i + 1 < argc) data = argv[++i];
    else if (!strcmp(a, "--ctx") && i + 1 < argc) ctx = argv[++i];
    else if (!strcmp(a, "--repeat") && i + 1 < argc) repeat = strtoul(argv[++i], 0, 0);
    else if (!strcmp(a, "--btf") && i + 1 < argc) btf_path = argv[++i];
    else if (!strcmp(a, "--func-info") && i + 1 < argc) func_path = argv[++i];
    else if (!strcmp(a, "--line-info") && i + 1 < argc) line_path = argv[++i];
    else if (!strcmp(a, "--attach-type") && i + 1 < argc) attach_type = argv[++i];
    else if (!strcmp(a, "--attach-btf") && i + 1 < argc) attach_btf = argv[++i];
    else if (!strcmp(a, "--inner") && i + 1 < argc) {
      int k = atoi(argv[++i]);
      const char *colon = strchr(argv[i], ':');
      if (k < 0 || k >= MAX_MAPS || !colon) { fprintf(stderr, "kbtf: bad --inner %s\n", argv[i]); return 2; }
      inners[k] = colon + 1;
    } else if (!strcmp(a, "--slot") && i + 1 < argc && nslots < MAX_SLOTS) {
      struct slot *sl = &slots[nslots++];
      int used = 0;
      if (sscanf(argv[++i], "%d:%u:%n", &sl->outer, &sl->key, &used) != 2 || !used || sl->outer < 0 ||
          sl->outer >= MAX_MAPS) { fprintf(stderr, "kbtf: bad --slot %s\n", argv[i]); return 2; }
      sl->spec = argv[i] + used;
    } else if (!strcmp(a, "--init") && i + 1 < argc) {
      int k = atoi(argv[++i]);
      const char *colon = strchr(argv[i], ':');
      if (k < 0 || k >= MAX_MAPS || !colon) { fprintf(stderr, "kbtf: bad --init %s\n", argv[i]); return 2; }
      inits[k] = colon + 1;
    } else if (!strcmp(a, "--freeze") && i + 1 < argc) {
      int k = atoi(argv[++i]);
      if (k < 0 || k >= MAX_MAPS) { fprintf(stderr, "kbtf: bad --freeze %s\n", argv[i]); return 2; }
      freeze[k] = 1;
    } else if (!strcmp(a, "--map") && i + 1 < argc && nmaps < MAX_MAPS) specs[nmaps++] = argv[++i];
    else if (a[0] == '-' && a[1]) { fprintf(stderr, "kbtf: unknown option %s\n", a); return 2; }
    else path = a;
  }
  if (!path) { fprintf(stderr, "usage: kbtf [options] PROG.bin (see source header)\n"); return 2; }

  int btf_fd = -1;
  if (btf_path) {
    size_t blen;
    void *b = slurp(btf_path, &blen);
    size_t log_size = 1 << 20;
    char *log = calloc(1, log_size);
    union bpf_attr at = {0};
    at.btf = (uintptr_t)b;
    at.btf_size = blen;
    at.btf_log_buf = (uintptr_t)log;
    at.btf_log_size = log_size;
    at.btf_log_level = 1;
    btf_fd = bpf(BPF_BTF_LOAD, &at);
    if (btf_fd < 0) {
      int e = errno;
      printf("verdict: reject\nerrno: %d %s\nbtf_errno: %d\n--- log\n%s--- end log\n", e, strerror(e), e, log);
      return 1;
    }
  }

  for (int m = 0; m < nmaps; m++) {
    char t[32];
    struct map *mp = &maps[m];
    mp->flags = mp->ktid = mp->vtid = 0;
    int got = sscanf(specs[m], "%31[^:]:%u:%u:%u:%u:%u:%u", t, &mp->key, &mp->value, &mp->max, &mp->flags,
                     &mp->ktid, &mp->vtid);
    if (got != 4 && got != 5 && got != 7) { fprintf(stderr, "kbtf: bad --map %s\n", specs[m]); return 2; }
    mp->type = lookup(map_types, sizeof map_types / sizeof *map_types, t, "map type");
    union bpf_attr at = {0};
    at.map_type = mp->type;
    at.key_size = mp->key;
    at.value_size = mp->value;
    at.max_entries = mp->max;
    at.map_flags = mp->flags;
    struct map tmpl = {.fd = -1};
    if (inners[m]) at.inner_map_fd = plain_map(inners[m], &tmpl, -1);
    if (mp->vtid && btf_fd >= 0) {
      at.btf_fd = btf_fd;
      at.btf_key_type_id = mp->ktid;
      at.btf_value_type_id = mp->vtid;
    }
    mp->fd = bpf(BPF_MAP_CREATE, &at);
    if (mp->fd < 0 && at.btf_value_type_id) {
      // As libbpf (bpf_object__create_map): a map type that refuses BTF types is made without.
      at.btf_fd = at.btf_key_type_id = at.btf_value_type_id = 0;
      mp->fd = bpf(BPF_MAP_CREATE, &at);
    }
    if (mp->fd < 0) { fprintf(stderr, "kbtf: map create %s: %s\n", specs[m], strerror(errno)); return 2; }
    if (tmpl.fd >= 0) close(tmpl.fd);
    for (int k = 0; k < nslots; k++) {
      if (slots[k].outer != m) continue;
      if (mp->key != 4) { fprintf(stderr, "kbtf: --slot needs a 4-byte key in map %d\n", m); return 2; }
      int inner_fd = plain_map(slots[k].spec, &slots[k].m, -1);
      union bpf_attr u = {0};
      u.map_fd = mp->fd;
      u.key = (uintptr_t)&slots[k].key;
      u.value = (uintptr_t)&inner_fd;
      if (bpf(BPF_MAP_UPDATE_ELEM, &u) < 0) {
        fprintf(stderr, "kbtf: slot %u of map %d: %s\n", slots[k].key, m, strerror(errno));
        return 2;
      }
    }
    if (inits[m]) {
      size_t n;
      unsigned char *v = unhex(inits[m], &n);
      unsigned char *full = calloc(1, mp->value);
      memcpy(full, v, n < mp->value ? n : mp->value);
      unsigned zero = 0;
      union bpf_attr u = {0};
      u.map_fd = mp->fd;
      u.key = (uintptr_t)&zero;
      u.value = (uintptr_t)full;
      if (bpf(BPF_MAP_UPDATE_ELEM, &u) < 0) { fprintf(stderr, "kbtf: init map %d: %s\n", m, strerror(errno)); return 2; }
    }
    if (freeze[m]) {
      union bpf_attr f = {0};
      f.map_fd = mp->fd;
      if (bpf(BPF_MAP_FREEZE, &f) < 0) { fprintf(stderr, "kbtf: freeze map %d: %s\n", m, strerror(errno)); return 2; }
    }
  }

  size_t len;
  struct bpf_insn *insns = slurp(path, &len);
  if (len % 8) { fprintf(stderr, "kbtf: %s is not a whole number of instructions\n", path); return 2; }
  unsigned cnt = len / 8;
  for (unsigned i = 0; i + 1 < cnt; i++) {
    if (insns[i].code != (BPF_LD | BPF_DW | BPF_IMM)) continue;
    if (insns[i].src_reg == BPF_PSEUDO_MAP_FD || insns[i].src_reg == BPF_PSEUDO_MAP_VALUE) {
      int k = insns[i].imm;
      if (k < 0 || k >= nmaps) { fprintf(stderr, "kbtf: insn %u names map %d, only %d given\n", i, k, nmaps); return 2; }
      insns[i].imm = maps[k].fd;
    }
    i++;
  }

  size_t log_size = log_level ? 64u << 20 : 0;
  char *log = log_level ? calloc(1, log_size) : NULL;
  union bpf_attr at = {0};
  at.prog_type = lookup(prog_types, sizeof prog_types / sizeof *prog_types, type, "program type");
  at.insns = (uintptr_t)insns;
  at.insn_cnt = cnt;
  at.license = (uintptr_t) "GPL";
  at.log_level = log_level;
  at.log_size = log_size;
  at.log_buf = (uintptr_t)log;
  if (at.prog_type == BPF_PROG_TYPE_SYSCALL) at.prog_flags = BPF_F_SLEEPABLE;
  if (attach_type)
    at.expected_attach_type = lookup(attach_types, sizeof attach_types / sizeof *attach_types, attach_type,
                                     "attach type");
  if (attach_btf) {
    char kind[16];
    int used = 0;
    if (sscanf(attach_btf, "%15[^:]:%n", kind, &used) != 1 || !used) {
      fprintf(stderr, "kbtf: bad --attach-btf %s\n", attach_btf);
      return 2;
    }
    struct btf *vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) { fprintf(stderr, "kbtf: no vmlinux BTF: %s\n", strerror(errno)); return 2; }
    int id = btf__find_by_name_kind(vmlinux, attach_btf + used,
                                    lookup(btf_kinds, sizeof btf_kinds / sizeof *btf_kinds, kind, "BTF kind"));
    btf__free(vmlinux);
    if (id <= 0) { fprintf(stderr, "kbtf: %s is not in vmlinux BTF\n", attach_btf); return 2; }
    printf("attach_btf_id: %d\n", id);
    at.attach_btf_id = id;
  }
  if (btf_fd >= 0) at.prog_btf_fd = btf_fd;
  if (func_path) {
    size_t n;
    at.func_info = (uintptr_t)slurp(func_path, &n);
    at.func_info_rec_size = 8;
    at.func_info_cnt = n / 8;
  }
  if (line_path) {
    size_t n;
    at.line_info = (uintptr_t)slurp(line_path, &n);
    at.line_info_rec_size = 16;
    at.line_info_cnt = n / 16;
  }
  int fd = bpf(BPF_PROG_LOAD, &at);
  int err = fd < 0 ? errno : 0;
  printf("verdict: %s\n", fd < 0 ? "reject" : "accept");
  printf("errno: %d %s\n", err, err ? strerror(err) : "");
  if (log) {
    const char *p = strstr(log, "processed ");
    if (p) printf("insns_processed: %ld\n", strtol(p + 10, 0, 10));
    printf("--- log\n%s--- end log\n", log);
  }
  if (fd < 0) return 1;

  if (run) {
    size_t dlen = 64, clen = 0;
    void *din = data ? slurp(data, &dlen) : calloc(1, 64);
    void *cin = ctx ? slurp(ctx, &clen) : NULL;
    size_t olen = dlen + 4096;
    unsigned char *dout = calloc(1, olen);
    union bpf_attr t = {0};
    t.test.prog_fd = fd;
    t.test.repeat = repeat;
    if (at.prog_type != BPF_PROG_TYPE_SYSCALL) {
      t.test.data_in = (uintptr_t)din;
      t.test.data_size_in = dlen;
      t.test.data_out = (uintptr_t)dout;
      t.test.data_size_out = olen;
    }
    if (cin) { t.test.ctx_in = (uintptr_t)cin; t.test.ctx_size_in = clen; }
    if (bpf(BPF_PROG_TEST_RUN, &t) < 0) {
      printf("run_error: %s\n", strerror(errno));
      return 3;
    }
    printf("retval: %u\n", t.test.retval);
    printf("duration_ns: %u\n", t.test.duration);
    if (t.test.data_size_out) { printf("data_out: "); hex(dout, t.test.data_size_out); }
  }
  if (dump) {
    for (int m = 0; m < nmaps; m++) {
      if (maps[m].type != BPF_MAP_TYPE_ARRAY) continue;
      unsigned char *v = malloc(maps[m].value);
      for (unsigned k = 0; k < maps[m].max; k++) {
        union bpf_attr l = {0};
        l.map_fd = maps[m].fd;
        l.key = (uintptr_t)&k;
        l.value = (uintptr_t)v;
        if (bpf(BPF_MAP_LOOKUP_ELEM, &l) == 0) { printf("map%d[%u]: ", m, k); hex(v, maps[m].value); }
      }
      free(v);
    }
    for (int k = 0; k < nslots; k++) {
      struct map *im = &slots[k].m;
      if (im->type != BPF_MAP_TYPE_ARRAY) continue;
      unsigned char *v = malloc(im->value);
      for (unsigned j = 0; j < im->max; j++) {
        union bpf_attr l = {0};
        l.map_fd = im->fd;
        l.key = (uintptr_t)&j;
        l.value = (uintptr_t)v;
        if (bpf(BPF_MAP_LOOKUP_ELEM, &l) == 0) {
          printf("map%d/%u[%u]: ", slots[k].outer, slots[k].key, j);
          hex(v, im->value);
        }
      }
      free(v);
    }
  }
  return 0;
}

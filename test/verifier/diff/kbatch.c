// kbatch: the kernel's verifier over many programs in one process, for differential testing.
// Input (stdin), one program per line:   TYPE NMAPS [MAPSPEC...] HEX
//   TYPE    socket_filter | xdp | sched_cls | syscall
//   MAPSPEC TYPE:KEY:VALUE:MAX (array | hash | ringbuf | percpu_array | lru_hash | prog_array);
//           lddw src=1/2 imm=i refers to the i-th spec of the line. Maps are created once per
//           distinct spec and shared (loading never changes a map).
//   HEX     the little-endian 8-byte instructions
// Usage: kbatch [LOG_LEVEL] < programs (level 1 by default, 0 for no log).
// Output, per program: "= VERDICT ERRNO PROCESSED" then the level-1 log lines, each prefixed
// with "| ", then ".". Exit 0 unless the input itself is malformed.
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

static int prog_type(const char *s) {
  if (!strcmp(s, "socket_filter")) return BPF_PROG_TYPE_SOCKET_FILTER;
  if (!strcmp(s, "xdp")) return BPF_PROG_TYPE_XDP;
  if (!strcmp(s, "sched_cls")) return BPF_PROG_TYPE_SCHED_CLS;
  if (!strcmp(s, "syscall")) return BPF_PROG_TYPE_SYSCALL;
  return -1;
}

static int map_type(const char *s) {
  if (!strcmp(s, "array")) return BPF_MAP_TYPE_ARRAY;
  if (!strcmp(s, "hash")) return BPF_MAP_TYPE_HASH;
  if (!strcmp(s, "ringbuf")) return BPF_MAP_TYPE_RINGBUF;
  if (!strcmp(s, "percpu_array")) return BPF_MAP_TYPE_PERCPU_ARRAY;
  if (!strcmp(s, "lru_hash")) return BPF_MAP_TYPE_LRU_HASH;
  if (!strcmp(s, "prog_array")) return BPF_MAP_TYPE_PROG_ARRAY;
  return -1;
}

#define MAX_CACHED 256
static struct { char spec[64]; int fd; } cache[MAX_CACHED];
static int ncache;

static int map_fd(const char *spec) {
  for (int i = 0; i < ncache; i++)
    if (!strcmp(cache[i].spec, spec)) return cache[i].fd;
  char t[32];
  unsigned k, v, m;
  if (sscanf(spec, "%31[^:]:%u:%u:%u", t, &k, &v, &m) != 4 || map_type(t) < 0 || ncache == MAX_CACHED)
    return -1;
  union bpf_attr at = {0};
  at.map_type = map_type(t);
  at.key_size = k;
  at.value_size = v;
  at.max_entries = m;
  int fd = bpf(BPF_MAP_CREATE, &at);
  if (fd < 0) return -1;
  snprintf(cache[ncache].spec, sizeof cache[ncache].spec, "%s", spec);
  cache[ncache++].fd = fd;
  return fd;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int main(int argc, char **argv) {
  // argv[1] = 0 loads without a log (much faster: the kernel formats no log lines)
  int log_level = argc > 1 ? atoi(argv[1]) : 1;
  size_t cap = 0, log_size = 16u << 20;
  char *line = NULL, *log = malloc(log_size);
  ssize_t len;
  setvbuf(stdout, NULL, _IOFBF, 1 << 20);
  while ((len = getline(&line, &cap, stdin)) > 0) {
    if (line[len - 1] == '\n') line[--len] = 0;
    if (!len) continue;
    char *save, *tok = strtok_r(line, " ", &save);
    int type = tok ? prog_type(tok) : -1;
    tok = strtok_r(NULL, " ", &save);
    int nmaps = tok ? atoi(tok) : -1, fds[16];
    if (type < 0 || nmaps < 0 || nmaps > 16) { fprintf(stderr, "kbatch: bad line\n"); return 2; }
    for (int i = 0; i < nmaps; i++) {
      tok = strtok_r(NULL, " ", &save);
      fds[i] = tok ? map_fd(tok) : -1;
      if (fds[i] < 0) { fprintf(stderr, "kbatch: bad map %s\n", tok ? tok : "?"); return 2; }
    }
    char *hex = strtok_r(NULL, " ", &save);
    size_t hl = hex ? strlen(hex) : 0;
    if (!hl || hl % 16) { fprintf(stderr, "kbatch: bad program hex\n"); return 2; }
    unsigned cnt = hl / 16;
    struct bpf_insn *insns = malloc(hl / 2);
    unsigned char *b = (unsigned char *)insns;
    for (size_t i = 0; i < hl / 2; i++) b[i] = hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]);
    for (unsigned i = 0; i + 1 < cnt; i++) {  // map indices -> real fds
      if (insns[i].code != (BPF_LD | BPF_DW | BPF_IMM)) continue;
      if ((insns[i].src_reg == BPF_PSEUDO_MAP_FD || insns[i].src_reg == BPF_PSEUDO_MAP_VALUE) &&
          insns[i].imm >= 0 && insns[i].imm < nmaps)
        insns[i].imm = fds[insns[i].imm];
      i++;
    }
    log[0] = 0;
    union bpf_attr at = {0};
    at.prog_type = type;
    at.insns = (uintptr_t)insns;
    at.insn_cnt = cnt;
    at.license = (uintptr_t) "GPL";
    at.log_level = log_level;
    at.log_size = log_level ? log_size : 0;
    at.log_buf = log_level ? (uintptr_t)log : 0;
    if (type == BPF_PROG_TYPE_SYSCALL) at.prog_flags = BPF_F_SLEEPABLE;
    int fd = bpf(BPF_PROG_LOAD, &at);
    int err = fd < 0 ? errno : 0;
    if (fd < 0 && err == ENOSPC && log_level) {
      // the log outgrew the buffer (level 1 writes much for loops near the 1M-insn limit, and
      // counts it even when it keeps only the statistics): the verdict comes from a silent load
      at.log_level = 0;
      at.log_size = 0;
      at.log_buf = 0;
      fd = bpf(BPF_PROG_LOAD, &at);
      err = fd < 0 ? errno : 0;
      log[0] = 0;
    }
    if (fd >= 0) close(fd);
    const char *p = strstr(log, "processed ");
    printf("= %s %d %ld\n", fd < 0 ? "reject" : "accept", err, p ? strtol(p + 10, 0, 10) : -1L);
    for (char *l = log; *l;) {
      char *nl = strchr(l, '\n');
      if (nl) *nl = 0;
      printf("| %s\n", l);
      if (!nl) break;
      l = nl + 1;
    }
    printf(".\n");
    free(insns);
  }
  fflush(stdout);
  return 0;
}

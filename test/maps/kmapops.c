// kmapops: runs a script of bpf() map commands against the running kernel, one per line on
// stdin, and prints one result line per command. The maps differential test runs the same
// script through tsbpf's host API and compares the lines.
//
//   create TYPE KEY VALUE MAX FLAGS EXTRA INNER  -> "ok" | "err ERRNO"  (INNER: map index or -1)
//   update M KEY VALUE FLAGS                     -> "ok" | "err ERRNO"
//   updatefd M KEY INNER FLAGS                   -> update with the fd of map INNER as value
//   lookup M KEY [VALUE]                         -> "ok VALUE" | "err ERRNO" (VALUE: input, bloom)
//   lookupdel M KEY                              -> "ok VALUE" | "err ERRNO"
//   delete M KEY                                 -> "ok" | "err ERRNO"
//   next M KEY                                   -> "ok KEY" | "err ERRNO"
//   walk M                                       -> "ok KEY KEY ..." (get_next_key from NULL)
//   freeze M                                     -> "ok" | "err ERRNO"
//   ringdump M                                   -> "ok CONS PROD LEN/PGOFF/DATA ..." (mmap'd ring)
//   run PROG                                     -> "ok RETVAL" | "reject" | "err ERRNO"
//       PROG: hex of 8-byte instructions; lddw src=1/2 imm=i refers to map i. Loaded as a
//       socket filter and run once (BPF_PROG_TEST_RUN) over 64 zero bytes.
// KEY/VALUE are hex; "-" is a NULL pointer (or an empty key). Values are sized as bpf() wants
// them: per-CPU maps take round_up(value_size, 8) bytes per possible CPU.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

struct map { int fd, type; unsigned key, value; };
static struct map maps[64];
static int nmaps, ncpus;

static int possible_cpus(void) {
  FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
  int a = 0, b = 0;
  if (!f) return 1;
  if (fscanf(f, "%d-%d", &a, &b) < 2) b = a;
  fclose(f);
  return b + 1;
}

static int percpu(int t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static size_t value_len(struct map *m) {
  if (percpu(m->type)) return ((m->value + 7) / 8) * 8 * ncpus;
  if (m->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || m->type == BPF_MAP_TYPE_HASH_OF_MAPS) return 4;
  return m->value;
}

/* Parses hex into buf (NULL for "-"). */
static unsigned char *unhex(const char *s, unsigned char *buf) {
  if (!strcmp(s, "-")) return NULL;
  size_t n = strlen(s) / 2;
  for (size_t i = 0; i < n; i++) sscanf(s + 2 * i, "%2hhx", &buf[i]);
  return buf;
}

static void hex(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

static void result(long r) {
  if (r < 0) printf("err %d\n", errno);
  else printf("ok\n");
}

int main(void) {
  static char line[1 << 20], a[8][1 << 19];
  static unsigned char kb[4096], vb[1 << 20], nb[4096];
  ncpus = possible_cpus();
  setvbuf(stdout, NULL, _IOLBF, 0);
  // Run on CPU 0: LRU maps keep per-CPU lists, so which CPU runs an update matters (tsbpf's
  // host calls act as CPU 0).
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  sched_setaffinity(0, sizeof one, &one);
  while (fgets(line, sizeof line, stdin)) {
    int n = sscanf(line, "%524287s %524287s %524287s %524287s %524287s %524287s %524287s %524287s", a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    if (n <= 0) continue;
    union bpf_attr at;
    memset(&at, 0, sizeof at);
    if (!strcmp(a[0], "create")) {
      at.map_type = atoi(a[1]);
      at.key_size = strtoul(a[2], 0, 0);
      at.value_size = strtoul(a[3], 0, 0);
      at.max_entries = strtoul(a[4], 0, 0);
      at.map_flags = strtoul(a[5], 0, 0);
      at.map_extra = strtoull(a[6], 0, 0);
      int inner = atoi(a[7]);
      if (inner >= 0) at.inner_map_fd = maps[inner].fd;
      int fd = bpf(BPF_MAP_CREATE, &at);
      if (fd < 0) { printf("err %d\n", errno); continue; }
      maps[nmaps++] = (struct map){fd, at.map_type, at.key_size, at.value_size};
      printf("ok\n");
      continue;
    }
    if (!strcmp(a[0], "run")) {
      static unsigned char code[1 << 18];
      size_t len = strlen(a[1]) / 2;
      unhex(a[1], code);
      struct bpf_insn *insns = (struct bpf_insn *)code;
      unsigned cnt = len / 8;
      for (unsigned i = 0; i + 1 < cnt; i++) {
        if (insns[i].code != (BPF_LD | BPF_DW | BPF_IMM)) continue;
        if (insns[i].src_reg == BPF_PSEUDO_MAP_FD || insns[i].src_reg == BPF_PSEUDO_MAP_VALUE)
          insns[i].imm = maps[insns[i].imm].fd;
        i++;
      }
      at.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
      at.insns = (uintptr_t)insns;
      at.insn_cnt = cnt;
      at.license = (uintptr_t) "GPL";
      int fd = bpf(BPF_PROG_LOAD, &at);
      if (fd < 0) { printf("reject %d\n", errno); continue; }
      unsigned char din[64] = {0}, dout[4096];
      union bpf_attr t;
      memset(&t, 0, sizeof t);
      t.test.prog_fd = fd;
      t.test.repeat = 1;
      t.test.data_in = (uintptr_t)din;
      t.test.data_size_in = sizeof din;
      t.test.data_out = (uintptr_t)dout;
      t.test.data_size_out = sizeof dout;
      if (bpf(BPF_PROG_TEST_RUN, &t) < 0) printf("err %d\n", errno);
      else printf("ok %u\n", t.test.retval);
      close(fd);
      continue;
    }
    struct map *m = &maps[atoi(a[1])];
    at.map_fd = m->fd;
    unsigned char *k = n > 2 ? unhex(a[2], kb) : NULL;
    at.key = (uintptr_t)k;
    if (!strcmp(a[0], "update")) {
      at.value = (uintptr_t)unhex(a[3], vb);
      at.flags = strtoull(a[4], 0, 0);
      result(bpf(BPF_MAP_UPDATE_ELEM, &at));
    } else if (!strcmp(a[0], "updatefd")) {
      uint32_t fd = maps[atoi(a[3])].fd;
      at.value = (uintptr_t)&fd;
      at.flags = strtoull(a[4], 0, 0);
      result(bpf(BPF_MAP_UPDATE_ELEM, &at));
    } else if (!strcmp(a[0], "lookup") || !strcmp(a[0], "lookupdel")) {
      memset(vb, 0, value_len(m));
      if (n > 3) unhex(a[3], vb);
      at.value = (uintptr_t)vb;
      long r = bpf(!strcmp(a[0], "lookup") ? BPF_MAP_LOOKUP_ELEM : BPF_MAP_LOOKUP_AND_DELETE_ELEM, &at);
      if (r < 0) { printf("err %d\n", errno); continue; }
      printf("ok ");
      hex(vb, value_len(m));
      printf("\n");
    } else if (!strcmp(a[0], "delete")) {
      result(bpf(BPF_MAP_DELETE_ELEM, &at));
    } else if (!strcmp(a[0], "next")) {
      at.next_key = (uintptr_t)nb;
      if (bpf(BPF_MAP_GET_NEXT_KEY, &at) < 0) { printf("err %d\n", errno); continue; }
      printf("ok ");
      hex(nb, m->key);
      printf("\n");
    } else if (!strcmp(a[0], "walk")) {
      at.key = 0;
      printf("ok");
      for (int i = 0; i < 100000; i++) {
        at.next_key = (uintptr_t)nb;
        if (bpf(BPF_MAP_GET_NEXT_KEY, &at) < 0) break;
        printf(" ");
        hex(nb, m->key);
        memcpy(kb, nb, m->key);
        at.key = (uintptr_t)kb;
      }
      printf("\n");
    } else if (!strcmp(a[0], "ringdump")) {
      // The consumer page, then the producer page followed by the data mapped twice.
      long pg = sysconf(_SC_PAGESIZE);
      unsigned max = 0;
      struct bpf_map_info info;
      memset(&info, 0, sizeof info);
      union bpf_attr ia;
      memset(&ia, 0, sizeof ia);
      ia.info.bpf_fd = m->fd;
      ia.info.info_len = sizeof info;
      ia.info.info = (uintptr_t)&info;
      if (bpf(BPF_OBJ_GET_INFO_BY_FD, &ia) < 0) { printf("err %d\n", errno); continue; }
      max = info.max_entries;
      unsigned long *cons = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
      unsigned char *prodp = mmap(NULL, pg + 2 * (size_t)max, PROT_READ, MAP_SHARED, m->fd, pg);
      if (cons == MAP_FAILED || prodp == MAP_FAILED) { printf("err %d\n", errno); continue; }
      unsigned long c = *cons, p = *(unsigned long *)prodp;
      unsigned char *data = prodp + pg;
      printf("ok %lu %lu", c, p);
      while (c < p) {
        uint32_t len, off;
        memcpy(&len, data + (c & (max - 1)), 4);
        memcpy(&off, data + (c & (max - 1)) + 4, 4);
        printf(" %x/%u/", len, off);
        if (len & BPF_RINGBUF_BUSY_BIT) break;
        uint32_t sz = len & ~BPF_RINGBUF_DISCARD_BIT;
        hex(data + ((c + 8) & (max - 1)), sz);
        c += (sz + 8 + 7) / 8 * 8;
      }
      printf("\n");
      munmap(cons, pg);
      munmap(prodp, pg + 2 * (size_t)max);
    } else if (!strcmp(a[0], "freeze")) {
      result(bpf(BPF_MAP_FREEZE, &at));
    } else {
      printf("bad command %s\n", a[0]);
    }
  }
  return 0;
}

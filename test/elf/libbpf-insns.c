// Prints the instructions libbpf would load for one program of an object, after its own
// linking, map relocation and CO-RE (bpf_program__insns after bpf_object__load).
// Map references print the map's name instead of its fd, so they can be compared.
//   libbpf-insns OBJ.o PROG
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args) {
  (void)level; (void)fmt; (void)args;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: libbpf-insns OBJ.o PROG\n"); return 2; }
  libbpf_set_print(quiet);
  struct bpf_object *obj = bpf_object__open(argv[1]);
  if (!obj) { printf("error: open\n"); return 1; }
  struct bpf_program *p, *want = NULL;
  bpf_object__for_each_program(p, obj) {
    int is = strcmp(bpf_program__name(p), argv[2]) == 0;
    bpf_program__set_autoload(p, is);
    if (is) want = p;
  }
  if (!want) { printf("error: no program\n"); return 1; }
  if (bpf_object__load(obj)) { printf("error: load\n"); return 1; }
  const struct bpf_insn *in = bpf_program__insns(want);
  size_t n = bpf_program__insn_cnt(want);
  for (size_t i = 0; i < n; i++) {
    const struct bpf_insn *x = &in[i];
    if (x->code == (BPF_LD | BPF_IMM | BPF_DW) && (x->src_reg == BPF_PSEUDO_MAP_FD || x->src_reg == BPF_PSEUDO_MAP_VALUE)) {
      const char *name = "?";
      struct bpf_map *m;
      bpf_object__for_each_map(m, obj) if (bpf_map__fd(m) == x->imm) name = bpf_map__name(m);
      printf("%u %u %u %d map:%s\n", x->code, x->dst_reg, x->src_reg, x->off, name);
      continue;
    }
    printf("%u %u %u %d %d\n", x->code, x->dst_reg, x->src_reg, x->off, x->imm);
  }
  bpf_object__close(obj);
  return 0;
}

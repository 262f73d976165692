// Test harness for examples/l4lb: loads the object with libbpf, configures one
// load-balancer setup in its maps, runs the l4lb program (BPF_PROG_TEST_RUN)
// on each packet file in turn (state such as conntrack carries over), and
// prints what came out.  kobj cannot fill maps before a run; this can.
//   VIP 10.0.0.100  TCP 80 and ICMP -> service 1 (conntrack), ring alternating
//                   backends 0, 1;  UDP 53 -> service 2 (no conntrack, DNS
//                   affinity), ring alternating backends 2, 3
//   backend i: 10.0.2.(i+1), MAC 02:00:00:00:02:0i, healthy
// Build: gcc -O2 -Wall -o l4lb-harness l4lb-harness.c -lbpf -lelf -lz
// Usage: l4lb-harness l4lb.bpf.o PKT...   prints "retval N out HEX" per packet,
//        then "counter I N" (summed over CPUs) for every counter.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>

struct vip_key { unsigned addr; unsigned short port; unsigned char proto, pad; };
struct service { unsigned id, flags; unsigned long long packets, bytes; };
struct backend { unsigned addr; unsigned char mac[6]; unsigned char healthy, pad; };

static int map_fd(struct bpf_object *o, const char *name) {
  int fd = bpf_object__find_map_fd_by_name(o, name);
  if (fd < 0) { fprintf(stderr, "no map %s\n", name); exit(2); }
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s l4lb.bpf.o PKT...\n", argv[0]); return 2; }
  struct bpf_object *o = bpf_object__open_file(argv[1], NULL);
  if (!o || bpf_object__load(o)) { fprintf(stderr, "cannot load %s\n", argv[1]); return 2; }
  int services = map_fd(o, "services"), rings = map_fd(o, "rings");
  int backends = map_fd(o, "backends"), counters = map_fd(o, "counters");
  unsigned vip = inet_addr("10.0.0.100");
  struct vip_key k_tcp = {vip, htons(80), 6}, k_icmp = {vip, 0, 1}, k_dns = {vip, htons(53), 17};
  struct service web = {1, 0}, dns = {2, 1 | 2};
  if (bpf_map_update_elem(services, &k_tcp, &web, 0) || bpf_map_update_elem(services, &k_icmp, &web, 0) ||
      bpf_map_update_elem(services, &k_dns, &dns, 0)) { perror("services"); return 2; }
  for (unsigned i = 0; i < 64; i++) {
    unsigned key = 64 + i, v = i % 2;
    bpf_map_update_elem(rings, &key, &v, 0);
    key = 128 + i, v = 2 + i % 2;
    bpf_map_update_elem(rings, &key, &v, 0);
  }
  for (unsigned i = 0; i < 4; i++) {
    struct backend b = {htonl(0x0a000200 + i + 1), {2, 0, 0, 0, 2, i}, 1};
    bpf_map_update_elem(backends, &i, &b, 0);
  }
  int fd = bpf_program__fd(bpf_object__find_program_by_name(o, "l4lb"));
  for (int a = 2; a < argc; a++) {
    FILE *f = fopen(argv[a], "rb");
    if (!f) { perror(argv[a]); return 2; }
    unsigned char in[4096], out[8192];
    size_t n = fread(in, 1, sizeof in, f);
    fclose(f);
    LIBBPF_OPTS(bpf_test_run_opts, r, .data_in = in, .data_size_in = n, .data_out = out,
                .data_size_out = sizeof out, .repeat = 1);
    if (bpf_prog_test_run_opts(fd, &r)) { perror("test run"); return 3; }
    printf("retval %u out ", r.retval);
    for (unsigned i = 0; i < r.data_size_out; i++) printf("%02x", out[i]);
    printf("\n");
  }
  int ncpu = libbpf_num_possible_cpus();
  unsigned long long *v = calloc(ncpu, sizeof *v);
  for (unsigned c = 0; c < 13; c++) {
    unsigned long long t = 0;
    if (bpf_map_lookup_elem(counters, &c, v)) break;
    for (int i = 0; i < ncpu; i++) t += v[i];
    printf("counter %u %llu\n", c, t);
  }
  return 0;
}

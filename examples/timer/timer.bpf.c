// bpf_timer: a timer lives inside a map value; a program initialises it
// (bpf_timer_init), names the callback (bpf_timer_set_callback) and arms it
// (bpf_timer_start).  The callback runs later in softirq context with
// (map, key, value) and may re-arm its own timer.
//   timer_arm      (syscall)  arms the "ticker" in an array map value: it
//                             fires max_ticks times, period_ns apart,
//                             counting in the value and in a hash map
//   timer_arm_xdp  (xdp)      the same from XDP (returns XDP_PASS)
//   timer_oneshot  (syscall)  a one-shot timer in a hash map value, keyed by
//                             a caller-chosen id; fires once and deletes
//                             its own element
//   timer_stop     (syscall)  cancels the ticker (bpf_timer_cancel)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CLOCK_MONOTONIC 1
#define EBUSY 16

const volatile __u64 period_ns = 1000000; // 1 ms between ticks
const volatile __u32 max_ticks = 5;

struct ticker {
  struct bpf_timer timer;
  __u64 ticks;
  __u64 first_ns;
  __u64 last_ns;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ticker);
} tickers SEC(".maps");

struct oneshot {
  struct bpf_timer timer;
  __u64 armed_ns;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, struct oneshot);
} oneshots SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);   // tick number
  __type(value, __u64); // ns since the first tick
} tick_log SEC(".maps");

__u64 callbacks;      // .bss: every callback run, both timers
__u64 oneshot_fired;  // .bss
__s64 arm_result = 1; // .data: last bpf_timer_start() result (1 = not armed yet)

static int ticker_cb(void *map, __u32 *key, struct ticker *t) {
  __u64 now = bpf_ktime_get_ns();
  __u32 n = t->ticks;
  if (n == 0) t->first_ns = now;
  t->last_ns = now;
  t->ticks = n + 1;
  __u64 since = now - t->first_ns;
  bpf_map_update_elem(&tick_log, &n, &since, BPF_ANY);
  __sync_fetch_and_add(&callbacks, 1);
  if (t->ticks < max_ticks) bpf_timer_start(&t->timer, period_ns, 0);
  return 0;
}

static int oneshot_cb(void *map, __u32 *key, struct oneshot *o) {
  __sync_fetch_and_add(&callbacks, 1);
  __sync_fetch_and_add(&oneshot_fired, 1);
  bpf_map_delete_elem(map, key); // a timer may free its own element
  return 0;
}

static __noinline int arm_ticker(void) {
  __u32 zero = 0;
  struct ticker *t = bpf_map_lookup_elem(&tickers, &zero);
  if (!t) return -1;
  // Initialising twice returns -EBUSY: that's fine, the timer is reused.
  long err = bpf_timer_init(&t->timer, &tickers, CLOCK_MONOTONIC);
  if (err && err != -EBUSY) return err;
  bpf_timer_set_callback(&t->timer, ticker_cb);
  t->ticks = 0;
  arm_result = bpf_timer_start(&t->timer, 0, 0); // first tick right away
  return arm_result;
}

SEC("syscall")
int timer_arm(void *ctx) { return arm_ticker(); }

SEC("xdp")
int timer_arm_xdp(struct xdp_md *ctx) { return arm_ticker() == 0 ? XDP_PASS : XDP_ABORTED; }

SEC("syscall")
int timer_oneshot(void *ctx) {
  __u32 id = 7;
  struct oneshot fresh = {};
  bpf_map_update_elem(&oneshots, &id, &fresh, BPF_NOEXIST);
  struct oneshot *o = bpf_map_lookup_elem(&oneshots, &id);
  if (!o) return -1;
  long err = bpf_timer_init(&o->timer, &oneshots, CLOCK_MONOTONIC);
  if (err && err != -EBUSY) return err;
  bpf_timer_set_callback(&o->timer, oneshot_cb);
  o->armed_ns = bpf_ktime_get_ns();
  return bpf_timer_start(&o->timer, 100000, 0); // in 100 us
}

SEC("syscall")
int timer_stop(void *ctx) {
  __u32 zero = 0;
  struct ticker *t = bpf_map_lookup_elem(&tickers, &zero);
  if (!t) return -1;
  return bpf_timer_cancel(&t->timer); // 0 if it was not active, 1 if it was
}

char LICENSE[] SEC("license") = "GPL";

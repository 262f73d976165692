// Conway's Game of Life in the kernel's eBPF VM: tsbpf's reference demo.
//
// Board   "board" (array map): one element per row, 256 bytes each, up to
//         256 rows; row y, column x is board[y].cell[x].  Bit 0 of a byte is
//         the cell (1 = alive); the host may write patterns straight into
//         the map.  Columns >= width and rows >= height take no part in the
//         generations (seed and the pending pattern below may clear some of
//         them).  "next_board" is the scratch generation.
// Config  const volatile globals in .rodata (patch them before load):
//         width x height (default 64 x 40), torus (1 = edges wrap, 0 = cells
//         beyond the edge are dead), rule (Life-like rule as a birth/survive
//         bit mask, default B3/S23), period_ns (timer period, 0 = as soon as
//         possible), max_generations (0 = unlimited), seed_density (0..256:
//         chance in 256 that seed makes a cell alive).
// Programs
//   step   (syscall)  computes exactly one generation; returns the live count
//   start  (syscall)  arms the timer: every period_ns the callback computes a
//                     generation and re-arms itself, until max_generations
//                     is reached or stop runs
//   stop   (syscall)  cancels the timer
//   seed   (syscall)  fills the width x height area at random
//                     (bpf_get_prandom_u32) and resets the generation count
// Output  .bss: struct life_state state (generation, live cells, timer ticks);
//         ring buffer "generations": one struct life_event per generation.
//
// Verifier-friendly layout: rows go through bpf_loop (the callback is
// checked once, whatever the height), columns through a bounded loop whose
// limit the verifier reads from the frozen .rodata; every cell index is
// masked with 0xff, so it stays inside its 256-byte row whatever the
// configuration.  The cell update is branch-free: the neighbour count and
// the cell's own state index one bit of the rule mask.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_SIDE 256
#define CLOCK_MONOTONIC 1
#define EBUSY 16

// rule bit n: a dead cell with n live neighbours is born;
// rule bit 9 + n: a live cell with n live neighbours survives.
#define RULE_B3_S23 ((1u << 3) | (1u << (9 + 2)) | (1u << (9 + 3)))

const volatile __u32 width = 64;
const volatile __u32 height = 40;
const volatile __u32 torus = 1;
const volatile __u32 rule = RULE_B3_S23;
const volatile __u64 period_ns = 100000000; // 100 ms
const volatile __u64 max_generations = 0;
const volatile __u32 seed_density = 64; // 25 %

struct row {
  __u8 cell[MAX_SIDE];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_SIDE);
  __type(key, __u32);
  __type(value, struct row);
} board SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_SIDE);
  __type(key, __u32);
  __type(value, struct row);
} next_board SEC(".maps");

struct life_timer {
  struct bpf_timer timer;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct life_timer);
} timer_map SEC(".maps");

struct life_event {
  __u64 generation; // number of the generation now on the board
  __u64 time_ns;    // bpf_ktime_get_ns() when it was computed
  __u32 live;
  __u32 births;
  __u32 deaths;
  __u32 hash;       // FNV-style hash of the live cells' positions: spots cycles
  __u16 width;
  __u16 height;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} generations SEC(".maps");

// .bss, one struct so that its layout is fixed (clang orders separate
// globals as it likes).
struct life_state {
  __u64 generation;  // generations computed since the last seed
  __u64 live;        // live cells on the board now
  __u64 timer_ticks; // timer callback runs
  __u32 stopping;    // set by stop so that a running callback does not re-arm
  __u32 pad;
};
struct life_state state;

// A pattern waiting to be placed: the next generation step (from step or
// the timer) first clears rows 0..height-1, places these cells, and
// sets count back to 0.  Meant for loaders that can patch the .data image
// before load (kobj --set-rodata pending=...); a host with map access can
// also write the board directly.
#define MAX_PATTERN 64
struct pattern {
  __u32 count;  // cells in xy (at most MAX_PATTERN)
  __u8 xy[2 * MAX_PATTERN]; // x0, y0, x1, y1, ...
};
struct pattern pending SEC(".data.pattern") = {.count = 0};

// A row of dead cells for the edges of a bounded board.
static const struct row dead_row;

static __always_inline __u32 board_width(void) {
  __u32 w = width;
  return w < 1 ? 1 : w > MAX_SIDE ? MAX_SIDE : w;
}

static __always_inline __u32 board_height(void) {
  __u32 h = height;
  return h < 1 ? 1 : h > MAX_SIDE ? MAX_SIDE : h;
}

// Totals carried through bpf_loop.  Width and height are not in here: the
// callbacks read them from .rodata, where the verifier sees the constants
// (through the stack it would widen them to unknown values).
struct gen_ctx {
  __u32 live;
  __u32 births;
  __u32 deaths;
  __u32 hash;
};

// The row above or below y (dy = -1 or +1), or the dead row past a bounded edge.
static __always_inline const struct row *neighbour_row(__u32 y, int dy, __u32 h) {
  __u32 ny;
  if (dy < 0) {
    if (y == 0) {
      if (!torus) return &dead_row;
      ny = h - 1;
    } else {
      ny = y - 1;
    }
  } else {
    if (y + 1 >= h) {
      if (!torus) return &dead_row;
      ny = 0;
    } else {
      ny = y + 1;
    }
  }
  return bpf_map_lookup_elem(&board, &ny);
}

// bpf_loop callback: computes next_board[y] from board[y-1..y+1].
static int next_row(__u32 y, struct gen_ctx *g) {
  __u32 w = board_width(), h = board_height();
  if (y >= h || y >= MAX_SIDE) return 1;
  const struct row *up = neighbour_row(y, -1, h);
  const struct row *mid = bpf_map_lookup_elem(&board, &y);
  const struct row *down = neighbour_row(y, 1, h);
  struct row *out = bpf_map_lookup_elem(&next_board, &y);
  if (!up || !mid || !down || !out) return 1;

  __u32 rl = rule, born = 0, died = 0, alive = 0, hash = g->hash;
  // Cells past a bounded left/right edge count as dead: mask them away.
  __u32 wrap = torus ? 1 : 0;
  for (__u32 x = 0; x < w && x < MAX_SIDE; x++) {
    __u32 xl = x == 0 ? w - 1 : x - 1;
    __u32 xr = x + 1 == w ? 0 : x + 1;
    __u32 ml = x == 0 ? wrap : 1;
    __u32 mr = x + 1 == w ? wrap : 1;
    xl &= 0xff;
    xr &= 0xff;
    __u32 n = ((up->cell[xl] & ml) + (up->cell[x] & 1) + (up->cell[xr] & mr) +
               (mid->cell[xl] & ml) + (mid->cell[xr] & mr) +
               (down->cell[xl] & ml) + (down->cell[x] & 1) + (down->cell[xr] & mr)) &
              0xf; // count 0..8, masked for the verifier
    // (ml, mr are 0 or 1 and cells are tested on bit 0 only.)
    __u32 self = mid->cell[x] & 1;
    __u32 next = (rl >> (n + 9 * self)) & 1;
    out->cell[x] = next;
    alive += next;
    born += next & (self ^ 1);
    died += self & (next ^ 1);
    // An FNV-1a-style step on y << 8 | x, for live cells only.
    hash = (hash ^ ((y << 8 | x) & -next)) * (next ? 16777619u : 1u);
  }
  g->live += alive;
  g->births += born;
  g->deaths += died;
  g->hash = hash;
  return 0;
}

// bpf_loop callback: board[y] = next_board[y] (the area inside width only).
static int copy_row(__u32 y, struct gen_ctx *g) {
  if (y >= board_height() || y >= MAX_SIDE) return 1;
  struct row *dst = bpf_map_lookup_elem(&board, &y);
  const struct row *src = bpf_map_lookup_elem(&next_board, &y);
  if (!dst || !src) return 1;
  __u32 w = board_width();
  for (__u32 x = 0; x < w && x < MAX_SIDE; x++) dst->cell[x] = src->cell[x];
  return 0;
}

// bpf_loop callback: clears row y, all 256 bytes (a constant size keeps
// clang's memset inline).
static int clear_row(__u32 y, void *unused) {
  if (y >= board_height() || y >= MAX_SIDE) return 1;
  struct row *r = bpf_map_lookup_elem(&board, &y);
  if (!r) return 1;
  __builtin_memset(r, 0, sizeof(*r));
  return 0;
}

static __noinline void place_pending(void) {
  __u32 n = pending.count;
  if (n == 0) return;
  bpf_loop(board_height(), clear_row, 0, 0);
  if (n > MAX_PATTERN) n = MAX_PATTERN;
  for (__u32 i = 0; i < n && i < MAX_PATTERN; i++) {
    __u32 x = pending.xy[2 * i], y = pending.xy[2 * i + 1];
    if (x >= board_width() || y >= board_height()) continue;
    struct row *r = bpf_map_lookup_elem(&board, &y);
    if (r) r->cell[x & 0xff] = 1;
  }
  pending.count = 0;
}

// One generation, shared by step and the timer callback.  Returns the
// number of live cells.
static __noinline __u32 life_step(void) {
  place_pending();
  __u32 w = board_width(), h = board_height();
  struct gen_ctx g = {.hash = 2166136261u};
  bpf_loop(h, next_row, &g, 0);
  bpf_loop(h, copy_row, &g, 0);
  __u64 gen = __sync_add_and_fetch(&state.generation, 1);
  state.live = g.live;
  struct life_event *e = bpf_ringbuf_reserve(&generations, sizeof(*e), 0);
  if (e) {
    e->generation = gen;
    e->time_ns = bpf_ktime_get_ns();
    e->live = g.live;
    e->births = g.births;
    e->deaths = g.deaths;
    e->hash = g.hash;
    e->width = w;
    e->height = h;
    e->pad = 0;
    bpf_ringbuf_submit(e, 0);
  }
  return g.live;
}

SEC("syscall")
int step(void *ctx) { return life_step(); }

static int tick(void *map, __u32 *key, struct life_timer *t) {
  __sync_fetch_and_add(&state.timer_ticks, 1);
  life_step();
  if (state.stopping) return 0;
  if (max_generations && state.generation >= max_generations) return 0;
  bpf_timer_start(&t->timer, period_ns, 0);
  return 0;
}

SEC("syscall")
int start(void *ctx) {
  __u32 zero = 0;
  struct life_timer *t = bpf_map_lookup_elem(&timer_map, &zero);
  if (!t) return -1;
  long err = bpf_timer_init(&t->timer, &timer_map, CLOCK_MONOTONIC);
  if (err && err != -EBUSY) return err; // -EBUSY: already initialised, reuse it
  err = bpf_timer_set_callback(&t->timer, tick);
  if (err) return err;
  state.stopping = 0;
  return bpf_timer_start(&t->timer, period_ns, 0);
}

SEC("syscall")
int stop(void *ctx) {
  __u32 zero = 0;
  struct life_timer *t = bpf_map_lookup_elem(&timer_map, &zero);
  if (!t) return -1;
  state.stopping = 1;
  return bpf_timer_cancel(&t->timer);
}

// bpf_loop callback: random cells in row y, four cells per random number.
static int seed_row(__u32 y, struct gen_ctx *g) {
  __u32 w = board_width(), d = seed_density, alive = 0;
  if (y >= board_height() || y >= MAX_SIDE) return 1;
  struct row *r = bpf_map_lookup_elem(&board, &y);
  if (!r) return 1;
  // d > 255 means every cell; as a threshold on a byte that is 256.
  if (d > 256) d = 256;
  for (__u32 x = 0; x < w && x < MAX_SIDE; x += 4) {
    __u32 rnd = bpf_get_prandom_u32();
#pragma unroll
    for (__u32 k = 0; k < 4; k++) {
      // byte < d, without a branch: the difference is negative exactly then;
      // and the same trick for x + k < w (cells past the width stay dead)
      __u32 c = ((((rnd >> (8 * k)) & 0xff) - d) >> 31) & ((x + k - w) >> 31);
      r->cell[(x + k) & 0xff] = c;
      alive += c;
    }
  }
  g->live += alive;
  return 0;
}

SEC("syscall")
int seed(void *ctx) {
  struct gen_ctx g = {};
  bpf_loop(board_height(), seed_row, &g, 0);
  state.generation = 0;
  state.live = g.live;
  return g.live;
}

char LICENSE[] SEC("license") = "GPL";

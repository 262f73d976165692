// Conway's Game of Life in the kernel's eBPF VM: tsbpf's reference demo.
//
// Board   "board" (array map, one element, struct life_board): the cells as
//         bit rows.  Row y is the four u64 words w[4*y .. 4*y+3]; column x
//         is bit x % 64 of word x / 64 (little endian: byte x / 8, bit
//         x % 8 of the row's 32 bytes).  Up to 256 x 256 cells.  Columns >=
//         width and rows >= height take no part in the generations (they
//         read as dead and come out cleared).  The host may write the map
//         directly.  "next_board" is the scratch generation, and also the
//         frame published to the "frames" ring buffer (header + rows).
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
// Output  .bss: struct life_state state (generation, live cells, timer ticks,
//         and the frames switch the host sets); ring buffer "generations":
//         one struct life_event per generation; ring buffer "frames": the
//         whole board (struct life_board header + height rows) after each
//         generation while state.frames is non-zero.
//
// Speed: a generation is bit-sliced, 64 cells per handful of instructions.
// Each word of a row gets its column sums first (the up, middle and down
// words through a full adder: a ones and a twos bit per column), then the
// 3 x 3 block sums by adding each column sum to its shifted neighbours (two
// more full adders); the total T includes the cell itself, so B3/S23 is
// "T == 3, or alive and T == 4".
//
// Verifier-friendly layout: rows go through bpf_loop in blocks of
// ROWS_PER_CALL (the callback is checked once, whatever the height); inside
// a block the rows loop is bounded by a constant and the words of a row are
// unrolled, guarded by the word count that the verifier reads from the
// frozen .rodata width.  Edges are arithmetic, not branches, so the walk
// does not fork per row.  Every index is masked into the 1024-word board.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_SIDE 256
#define WORDS 4 // u64 words per row: MAX_SIDE / 64
#define BOARD_WORDS (MAX_SIDE * WORDS)
#define ROWS_PER_CALL 16
// Boards of at most this many words (height x words per row) skip bpf_loop.
#define DIRECT_WORDS 64
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

// The header is filled in only on the scratch copy that goes out as a frame.
struct life_board {
  __u64 generation;
  __u16 width;
  __u16 height;
  __u32 pad;
  __u64 w[BOARD_WORDS];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct life_board);
} board SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct life_board);
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
  __u32 hash;       // FNV-1a over the row words' 32-bit halves: spots cycles
  __u16 width;
  __u16 height;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} generations SEC(".maps");

// 31 frames of 256 x 256, 200 of 64 x 40.
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} frames SEC(".maps");

// .bss, one struct so that its layout is fixed (clang orders separate
// globals as it likes).
struct life_state {
  __u64 generation;  // generations computed since the last seed
  __u64 live;        // live cells on the board now
  __u64 timer_ticks; // timer callback runs
  __u32 stopping;    // set by stop so that a running callback does not re-arm
  __u32 frames;      // set by the host: publish every generation's board
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

static __always_inline __u32 board_width(void) {
  __u32 w = width;
  return w < 1 ? 1 : w > MAX_SIDE ? MAX_SIDE : w;
}

static __always_inline __u32 board_height(void) {
  __u32 h = height;
  return h < 1 ? 1 : h > MAX_SIDE ? MAX_SIDE : h;
}

static __always_inline __u32 row_words(void) { return (board_width() + 63) / 64; }

// The cells of the last word that are inside the width.
static __always_inline __u64 last_word_mask(void) {
  __u32 r = board_width() & 63;
  return r ? (1ull << r) - 1 : ~0ull;
}

// Word k of row y, masked into the board.  The empty asm hides the value
// from clang, which would otherwise drop the mask (it knows y < 256) and
// walk a pointer from row to row, a pointer the verifier cannot bound.
static __always_inline __u32 word_at(__u32 y, __u32 k) {
  __u32 i = y * WORDS + k;
  asm volatile("" : "+r"(i));
  return i & (BOARD_WORDS - 1);
}

static __always_inline __u32 bit_count(__u64 v) {
  v = v - ((v >> 1) & 0x5555555555555555ull);
  v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
  v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return (v * 0x0101010101010101ull) >> 56;
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

// The column sums of one word: per bit, the live cells among up, middle and
// down as a two-bit number (ones, twos).
struct colsum {
  __u64 ones;
  __u64 twos;
  __u64 self;
};

static __always_inline struct colsum column_sum(const struct life_board *b, __u32 yu, __u32 y, __u32 yd,
                                                __u32 k, __u64 umask, __u64 dmask, __u64 keep) {
  __u64 u = b->w[word_at(yu, k)] & umask & keep;
  __u64 m = b->w[word_at(y, k)] & keep;
  __u64 d = b->w[word_at(yd, k)] & dmask & keep;
  __u64 um = u ^ m;
  struct colsum c = {.ones = um ^ d, .twos = (u & m) | (d & um), .self = m};
  return c;
}

// The next state of 64 cells from their 3 x 3 block sums T (bits t0..t3,
// T = 0..9, the cell included).
static __always_inline __u64 apply_rule(__u64 t0, __u64 t1, __u64 t2, __u64 t3, __u64 self, __u32 rl) {
  if (rl == RULE_B3_S23) // T == 3, or alive and T == 4 (T >= 8 never has t1 or t2)
    return (t0 & t1 & ~t2) | (self & t2 & ~t1 & ~t0);
  // Any other rule: one minterm per T, in a loop (rare, so kept small).  A
  // dead cell is born with T = n (rule bit n, n <= 8), a live one survives
  // with T = n + 1 (rule bit 9 + n, so bit n + 8 for T = n >= 1).
  __u64 born = 0, keep = 0;
  __u32 births = rl & 0x1ff, survivals = (rl >> 8) & 0x3fe;
#pragma clang loop unroll(disable)
  for (__u32 n = 0; n <= 9; n++) {
    __u64 eq = ~(t0 ^ -(__u64)(n & 1)) & ~(t1 ^ -(__u64)((n >> 1) & 1)) & ~(t2 ^ -(__u64)((n >> 2) & 1)) &
               ~(t3 ^ -(__u64)((n >> 3) & 1));
    born |= eq & -(__u64)((births >> n) & 1);
    keep |= eq & -(__u64)((survivals >> n) & 1);
  }
  return (born & ~self) | (keep & self);
}

// Adds the column sums of word k to those of its west and east neighbours
// (wc: the carries into bit 0, ec: the carries into the top bit), applies
// the rule, stores the word, counts it.
static __always_inline void next_word(struct life_board *out, __u32 y, __u32 k, struct colsum c, __u64 wo,
                                      __u64 wt, __u64 eo, __u64 et, __u64 keep, struct gen_ctx *g) {
  __u64 ow = (c.ones << 1) | wo, oe = (c.ones >> 1) | eo;
  __u64 tw = (c.twos << 1) | wt, te = (c.twos >> 1) | et;
  // ones: ow + c.ones + oe -> t0 (weight 1) + k1 (weight 2)
  __u64 x1 = ow ^ c.ones;
  __u64 t0 = x1 ^ oe, k1 = (ow & c.ones) | (oe & x1);
  // twos: tw + c.twos + te -> s2 (weight 2) + k4 (weight 4)
  __u64 x2 = tw ^ c.twos;
  __u64 s2 = x2 ^ te, k4 = (tw & c.twos) | (te & x2);
  __u64 t1 = s2 ^ k1, c4 = s2 & k1;
  __u64 t2 = k4 ^ c4, t3 = k4 & c4;
  __u64 next = apply_rule(t0, t1, t2, t3, c.self, rule) & keep;
  out->w[word_at(y, k)] = next;
  g->live += bit_count(next);
  g->births += bit_count(next & ~c.self);
  g->deaths += bit_count(c.self & ~next);
  g->hash = (g->hash ^ (__u32)next) * 16777619u;
  g->hash = (g->hash ^ (__u32)(next >> 32)) * 16777619u;
}

// Row y of the next generation.  Up to four words, unrolled: word k exists
// when k < nw (a constant for the verifier, which walks only those).
static __always_inline void next_row(const struct life_board *b, struct life_board *out, __u32 y, __u32 h,
                                     struct gen_ctx *g) {
  __u32 nw = row_words(), wrap = torus;
  __u32 sh = (board_width() - 1) & 63; // the last column's bit in the last word
  __u64 lastmask = last_word_mask();
  // Edges without branches: top = 1 on row 0, bottom = 1 on row h - 1.
  __u32 top = ((y - 1) >> 31) & 1, bottom = ((h - 2 - y) >> 31) & 1;
  __u32 yu, yd;
  __u64 umask, dmask;
  if (wrap) {
    yu = y - 1 + top * h;
    yd = y + 1 - bottom * h;
    umask = dmask = ~0ull;
  } else {
    yu = y - 1 + top;
    yd = y + 1 - bottom;
    umask = (__u64)top - 1;
    dmask = (__u64)bottom - 1;
  }
  struct colsum c0, c1 = {}, c2 = {}, c3 = {}, last;
  c0 = column_sum(b, yu, y, yd, 0, umask, dmask, nw == 1 ? lastmask : ~0ull);
  last = c0;
  if (nw > 1) last = c1 = column_sum(b, yu, y, yd, 1, umask, dmask, nw == 2 ? lastmask : ~0ull);
  if (nw > 2) last = c2 = column_sum(b, yu, y, yd, 2, umask, dmask, nw == 3 ? lastmask : ~0ull);
  if (nw > 3) last = c3 = column_sum(b, yu, y, yd, 3, umask, dmask, lastmask);
  // The torus closes the row: column width - 1 is west of column 0, and
  // column 0 east of column width - 1.
  __u64 wo = 0, wt = 0, eo = 0, et = 0;
  if (wrap) {
    wo = (last.ones >> sh) & 1;
    wt = (last.twos >> sh) & 1;
    eo = (c0.ones & 1) << sh;
    et = (c0.twos & 1) << sh;
  }
  // Word k takes bit 63 of word k - 1 as its west carry and bit 0 of word
  // k + 1 as its east carry; the last word takes the torus seam (eo, et).
  next_word(out, y, 0, c0, wo, wt, nw > 1 ? c1.ones << 63 : eo, nw > 1 ? c1.twos << 63 : et,
            nw == 1 ? lastmask : ~0ull, g);
  if (nw > 1)
    next_word(out, y, 1, c1, c0.ones >> 63, c0.twos >> 63, nw > 2 ? c2.ones << 63 : eo,
              nw > 2 ? c2.twos << 63 : et, nw == 2 ? lastmask : ~0ull, g);
  if (nw > 2)
    next_word(out, y, 2, c2, c1.ones >> 63, c1.twos >> 63, nw > 3 ? c3.ones << 63 : eo,
              nw > 3 ? c3.twos << 63 : et, nw == 3 ? lastmask : ~0ull, g);
  if (nw > 3) next_word(out, y, 3, c3, c2.ones >> 63, c2.twos >> 63, eo, et, lastmask, g);
}

// Rows y0 .. y0 + max_rows - 1 of out from b; returns 1 after the last row.
// One subprogram for both callers; max_rows is a constant at each call, and
// the verifier, which checks a static subprogram in its caller's state,
// sees it as the loop bound.  The totals stay in locals while the rows run
// and go to *g once: in the hot loop every load is from board and every
// store to next_board (tsbpf's checked JIT keeps one read and one write
// window; see docs/LIFE.md).  Not inlined: its frame (the row computation
// spills) must not add to life_step's under the bpf_loop callback (the
// kernel adds the frames of a call chain up to 512 bytes).
static __noinline int rows_from(const struct life_board *b, struct life_board *out, __u32 y0, __u32 max_rows,
                                struct gen_ctx *g) {
  __u32 h = board_height();
  struct gen_ctx t = *g;
  __u32 done = 0;
  if (!b || !out) return 1;
#pragma clang loop unroll(disable)
  for (__u32 j = 0; j < max_rows && j < MAX_SIDE; j++) {
    __u32 y = y0 + j;
    if (y >= h || y >= MAX_SIDE) {
      done = 1;
      break;
    }
    next_row(b, out, y, h, &t);
  }
  *g = t;
  return done;
}

// bpf_loop callback: block i of rows.
static int next_rows(__u32 i, struct gen_ctx *g) {
  __u32 zero = 0;
  const struct life_board *b = bpf_map_lookup_elem(&board, &zero);
  struct life_board *out = bpf_map_lookup_elem(&next_board, &zero);
  if (!b || !out) return 1;
  return rows_from(b, out, i * ROWS_PER_CALL, ROWS_PER_CALL, g);
}

// no_builtin: clang would turn the clearing and copying loops into memset and
// memcpy calls, which BPF does not have.
static __noinline __attribute__((no_builtin)) void place_pending(struct life_board *b) {
  __u32 n = pending.count;
  if (n == 0 || !b) return;
  __u32 words = board_height() * WORDS;
  for (__u32 k = 0; k < words && k < BOARD_WORDS; k++) b->w[k] = 0;
  if (n > MAX_PATTERN) n = MAX_PATTERN;
  for (__u32 i = 0; i < n && i < MAX_PATTERN; i++) {
    __u32 x = pending.xy[2 * i], y = pending.xy[2 * i + 1];
    if (x >= board_width() || y >= board_height()) continue;
    b->w[word_at(y, x / 64)] |= 1ull << (x & 63);
  }
  pending.count = 0;
}

// One generation, shared by step and the timer callback.  Returns the
// number of live cells.
static __noinline __attribute__((no_builtin)) __u32 life_step(void) {
  __u32 zero = 0;
  struct life_board *b = bpf_map_lookup_elem(&board, &zero);
  struct life_board *nb = bpf_map_lookup_elem(&next_board, &zero);
  if (!b || !nb) return 0;
  place_pending(b);
  __u32 w = board_width(), h = board_height();
  struct gen_ctx g = {.hash = 2166136261u};
  // A small board runs its rows in place: no helper calls, no lookups.  The
  // verifier sees the constant size and walks one of the two ways only, at
  // most DIRECT_WORDS (or ROWS_PER_CALL rows of) word updates either way.
  if (h * row_words() <= DIRECT_WORDS)
    rows_from(b, nb, 0, DIRECT_WORDS, &g);
  else
    bpf_loop((h + ROWS_PER_CALL - 1) / ROWS_PER_CALL, next_rows, &g, 0);
  // Copy back: the words past the width are zero in next_board.
  __u32 words = h * WORDS;
  for (__u32 k = 0; k < words && k < BOARD_WORDS; k++) b->w[k] = nb->w[k];
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
  if (state.frames) {
    nb->generation = gen;
    nb->width = w;
    nb->height = h;
    nb->pad = 0;
    // The header and the first h rows; a full ring drops the frame.
    bpf_ringbuf_output(&frames, nb, 16 + h * WORDS * 8, 0);
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

// bpf_loop callback: random cells in row y, one byte of randomness per cell
// (alive when it is below seed_density), stored a byte (8 cells) at a time:
// nothing grows from one iteration to the next, so the verifier's walk of
// the loop stays short.
static int seed_row(__u32 y, struct gen_ctx *g) {
  __u32 zero = 0, nw = row_words(), d = seed_density, alive = 0;
  if (y >= board_height() || y >= MAX_SIDE) return 1;
  struct life_board *b = bpf_map_lookup_elem(&board, &zero);
  if (!b) return 1;
  // d > 255 means every cell; as a threshold on a byte that is 256.
  if (d > 256) d = 256;
  __u8 *row = (__u8 *)&b->w[word_at(y, 0)];
  for (__u32 i = 0; i < nw * 8 && i < WORDS * 8; i++) {
    __u32 lo = bpf_get_prandom_u32(), hi = bpf_get_prandom_u32(), byte = 0;
#pragma unroll
    for (__u32 j = 0; j < 4; j++) {
      // byte < d, without a branch: the difference is negative exactly then
      byte |= ((((lo >> (8 * j)) & 0xff) - d) >> 31) << j;
      byte |= ((((hi >> (8 * j)) & 0xff) - d) >> 31) << (4 + j);
    }
    row[i & (WORDS * 8 - 1)] = byte;
  }
  // Cells past the width stay dead.
  b->w[word_at(y, nw - 1)] &= last_word_mask();
  for (__u32 k = 0; k < nw && k < WORDS; k++) alive += bit_count(b->w[word_at(y, k)]);
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

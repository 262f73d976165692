// Writes examples/inventory.json from measurements: for every committed example
// object, kobj loads it into the running kernel (all programs in one load, as a real
// loader does) and reports each program's section, libbpf program type, instruction
// counts and verdict; llvm-readelf-19 lists the functions (programs and .text
// subprograms) with their sizes.  Tests of other modules read the inventory instead
// of running clang or the kernel.
//   node --import tsx test/examples/make-inventory.ts            rewrite the inventory
//   node --import tsx test/examples/make-inventory.ts --markdown print the README table
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { prepareKobj, repoRoot, runKobj } from './kobj.ts';

export interface InventoryProgram {
  name: string;
  section: string;
  type: string; // program type as libbpf names it
  insns: number;
  insnsLoaded: number;
  verdict: string;
  insnsProcessed: number | null;
  // libbpf loading this program alone (the others autoload=false): tail-call
  // stages named in a prog array initialiser cannot be
  verdictAlone: string;
  errorAlone?: string;
}

export interface InventoryFunction {
  name: string;
  section: string;
  binding: 'global' | 'local';
  insnOffset: number;
  insns: number;
}

export interface InventoryObject {
  example: string;
  object: string;
  source: string;
  about: string;
  loadMode: 'all';
  programs: InventoryProgram[];
  functions: InventoryFunction[];
  maps: { name: string; type: string; keySize: number; valueSize: number; maxEntries: number }[];
}

export interface Inventory {
  comment: string;
  measuredOn: { kernel: string; clang: string };
  objects: InventoryObject[];
}

// What each example is for (README and inventory say the same thing).
export const about: Record<string, string> = {
  'xdp-parse':
    'XDP parsing Ethernet (2 VLAN tags) -> IPv4/IPv6 -> TCP/UDP/ICMP with bounds checks; per-protocol counters in an array',
  'xdp-firewall':
    'XDP firewall: IPv4 source blocklist (hash) and destination-port blocklist (array); per-verdict percpu_array counters',
  'socket-filter':
    'socket filters keeping UDP to one port: bpf_skb_load_bytes, and legacy BPF_LD|BPF_ABS/BPF_IND loads',
  'tc-classifier':
    'tc classifier: __sk_buff fields, skb->mark/priority, direct packet access, bpf_skb_store_bytes + bpf_l3_csum_replace',
  maps: 'one of each map kind: hash, lru_hash, percpu_hash, array, percpu_array, ringbuf, queue, stack, bloom filter',
  globals: 'global variables in .rodata (const volatile), .data, .bss and a custom .data.stats section',
  subprogs: 'BPF-to-BPF calls: static __noinline and global functions shared by two programs',
  'isa-v4':
    'clang -mcpu=v4 instructions: ALU32, JMP32, SDIV/SMOD, sign-extending loads, MOVSX, BSWAP, atomic fetch ops, xchg, cmpxchg',
  'map-in-map':
    'ARRAY_OF_MAPS and HASH_OF_MAPS filled from the .maps initialiser, bpf_spin_lock in a hash map value',
  loops: 'bounded loops: kept (unroll disabled), #pragma unroll, data-dependent with a cap, nested',
  'bpf-loop':
    'bpf_loop callbacks: packet histogram, sieve of Eratosthenes with nested bpf_loop and early stop',
  'tail-calls': 'tail calls through a PROG_ARRAY whose slots libbpf fills from the .maps initialiser',
  timer:
    'bpf_timer in array and hash map values: self re-arming ticker, one-shot that deletes its element, cancel',
  core: 'CO-RE: preserve_access_index structs, BPF_CORE_READ, field/type existence and size, ___flavor structs',
  l4lb: 'XDP L4 load balancer: conntrack in an LRU hash, DNAT with incremental checksums, MSS clamp, DNS affinity',
  sleepable:
    'sleepable syscall program: bpf_copy_from_user of a user buffer (pointer + length in the ctx) in 16-byte chunks, byte-value counts in an array',
  life: "Conway's Game of Life (the reference demo): board in an array map, bpf_loop, bpf_timer, ring buffer",
  http: 'XDP HTTP/1.x parsing: bpf_loop state machine over the payload, per method/host/path-prefix/status counters, LPM path rules',
  iter: 'BPF iterator (iter/bpf_map_elem) printing a hash map as a table with bpf_seq_printf/bpf_seq_write',
  'iter-task':
    'task iterator (iter/task): a ps of every thread (tgid, pid, priority, nice, comm), optionally of one process',
  tls: 'XDP TLS ClientHello parsing: SNI, ALPN, JA3-style FNV-1a fingerprint to a ring buffer, SNI deny map, bounded loop',
};

function tool(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return r.status === 0 ? r.stdout : undefined;
}

interface ReadelfSymbol {
  Symbol: {
    Name: { Name: string };
    Value: number;
    Size: number;
    Binding: { Name: string };
    Type: { Name: string };
    Section: { Name: string };
  };
}

function functionsOf(object: string): InventoryFunction[] {
  const out = tool('llvm-readelf-19', ['--elf-output-style=JSON', '--syms', object]);
  if (!out) throw new Error('llvm-readelf-19 is needed to list functions');
  const syms = (JSON.parse(out) as { Symbols: ReadelfSymbol[] }[])[0]!.Symbols;
  return syms
    .map((s) => s.Symbol)
    .filter((s) => s.Type.Name === 'Function')
    .map((s) => ({
      name: s.Name.Name,
      section: s.Section.Name,
      binding: s.Binding.Name === 'Global' ? ('global' as const) : ('local' as const),
      insnOffset: s.Value / 8,
      insns: s.Size / 8,
    }))
    .sort((a, b) => a.section.localeCompare(b.section) || a.insnOffset - b.insnOffset);
}

export function exampleNames(): string[] {
  return readdirSync(join(repoRoot, 'examples'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function objectPath(example: string): string {
  return `examples/${example}/${example.replaceAll('-', '_')}.bpf.o`;
}

function measure(): Inventory {
  const skip = prepareKobj();
  if (skip) throw new Error(`cannot measure: ${skip}`);
  const objects: InventoryObject[] = [];
  for (const example of exampleNames()) {
    const object = objectPath(example);
    const r = runKobj(['--all', '--dump-maps', object]);
    const alone = runKobj([object]).programs;
    objects.push({
      example,
      object,
      source: object.replace(/\.o$/, '.c'),
      about: about[example] ?? '',
      loadMode: 'all',
      programs: r.programs.map((p) => {
        const a = alone.find((q) => q.program === p.program);
        return {
          name: p.program,
          section: p.section,
          type: p.type,
          insns: p.insns,
          insnsLoaded: p.insnsLoaded,
          verdict: p.verdict,
          insnsProcessed: p.insnsProcessed ?? null,
          verdictAlone: a?.verdict ?? 'missing',
          ...(a && a.verdict !== 'accept' && a.error ? { errorAlone: a.error } : {}),
        };
      }),
      functions: functionsOf(join(repoRoot, object)),
      maps: r.maps,
    });
  }
  const clang = tool('clang-19', ['--version'])?.split('\n')[0] ?? 'unknown';
  return {
    comment:
      'Generated by test/examples/make-inventory.ts from kobj (libbpf + the running kernel) and llvm-readelf-19. ' +
      'verdict: what the kernel verifier said when libbpf loaded the whole object; insnsProcessed depends on the kernel.',
    measuredOn: { kernel: release(), clang },
    objects,
  };
}

function markdown(inv: Inventory): string {
  const lines = [
    '| example | program | section | type | insns (own / loaded) | verifier insns processed | verdict |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const o of inv.objects) {
    for (const p of o.programs) {
      lines.push(
        `| ${o.example} | ${p.name} | \`${p.section}\` | ${p.type} | ${p.insns} / ${p.insnsLoaded} | ${p.insnsProcessed ?? '-'} | ${p.verdict} |`,
      );
    }
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const path = join(repoRoot, 'examples/inventory.json');
  if (process.argv.includes('--markdown')) {
    console.log(markdown(JSON.parse(readFileSync(path, 'utf8')) as Inventory));
  } else {
    const inv = measure();
    writeFileSync(path, `${JSON.stringify(inv, null, 2)}\n`);
    console.log(`wrote ${path}: ${inv.objects.length} objects`);
  }
}

// Runs test/examples/kpkt.c (a libbpf harness: one program over a pcap in the
// kernel, ring-buffer records per packet, maps at the end) and parses its output.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareCTool, repoRoot } from '../examples/kobj.ts';
import { writePcap } from '../examples/pcap.ts';

const kpkt = prepareCTool('kpkt');

// Undefined when the kernel tests can run, else why not.
export function prepareBpkt(): string | undefined {
  return kpkt.skip;
}

export interface BpktRun {
  retvals: number[];
  records: Map<number, string[]>; // packet index -> ring-buffer records (hex)
  maps: Map<string, Map<string, string>>; // map -> key hex -> value hex (first CPU's for per-CPU maps)
}

export interface BpktOptions {
  rodata?: Record<string, string>; // symbol -> hex bytes
  maps?: [string, string, string][]; // name, key hex, value hex
}

export function runBpkt(
  object: string,
  prog: string,
  frames: Uint8Array[],
  dir: string,
  o: BpktOptions = {},
): BpktRun {
  const pcap = join(dir, `${prog}-${process.pid}.pcap`);
  writeFileSync(pcap, writePcap(frames));
  const args: string[] = [];
  for (const [sym, hex] of Object.entries(o.rodata ?? {})) args.push('--rodata', `${sym}=${hex}`);
  for (const [name, key, value] of o.maps ?? []) args.push('--map', name, key, value);
  const r = spawnSync(kpkt.path, [...args, join(repoRoot, object), prog, pcap], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  if (r.status !== 0) throw new Error(`kpkt exit ${r.status}: ${r.stderr}`);
  const run: BpktRun = { retvals: [], records: new Map(), maps: new Map() };
  for (const line of r.stdout.split('\n')) {
    let m = /^pkt (\d+) retval (\d+)$/.exec(line);
    if (m) {
      run.retvals.push(Number(m[2]));
      continue;
    }
    m = /^ringbuf \S+ ([0-9a-f]+)$/.exec(line);
    if (m) {
      const at = run.retvals.length - 1;
      run.records.set(at, [...(run.records.get(at) ?? []), m[1]!]);
      continue;
    }
    m = /^map (\S+)\[([0-9a-f]*)\]: (\S+)/.exec(line);
    if (m) {
      const map = run.maps.get(m[1]!) ?? new Map<string, string>();
      run.maps.set(m[1]!, map);
      map.set(m[2]!, m[3]!);
      continue;
    }
    if (line.startsWith('pkt ')) throw new Error(`kpkt: ${line}`);
  }
  return run;
}

// Little-endian unsigned integer from hex.
export function leValue(hex: string): bigint {
  return BigInt(`0x${(hex.match(/../g) ?? ['00']).reverse().join('')}`);
}

// A map of u32 array index -> u64 counter, zero entries left out.
export function counters(run: BpktRun, map: string): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const [k, v] of run.maps.get(map) ?? []) out.set(Number(leValue(k)), leValue(v));
  return out;
}

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

// Zero-padded fixed-size key holding a string's latin1 bytes.
export function paddedKey(s: string, size: number): string {
  const b = new Uint8Array(size);
  for (let i = 0; i < s.length && i < size; i++) b[i] = s.charCodeAt(i) & 0xff;
  return hexOf(b);
}

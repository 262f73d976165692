// An independent rendering of what examples/iter/iter.bpf.c prints for a map's contents,
// written from the C source's formats (not from tsbpf's formatter), plus seeded test data.

export interface Stat {
  key: number;
  packets: bigint;
  bytes: bigint;
  delta: number;
  tag: string;
}

const le = (v: bigint, n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Number((BigInt.asUintN(64, v) >> BigInt(8 * i)) & 0xffn);
  return b;
};

export function encodeKey(k: number): Uint8Array {
  return le(BigInt(k), 4);
}

/** struct stat { u64 packets; u64 bytes; s32 delta; char tag[12]; } */
export function encodeValue(s: Stat): Uint8Array {
  const v = new Uint8Array(32);
  v.set(le(s.packets, 8), 0);
  v.set(le(s.bytes, 8), 8);
  v.set(le(BigInt(s.delta), 4), 16);
  for (let i = 0; i < s.tag.length && i < 12; i++) v[20 + i] = s.tag.charCodeAt(i);
  return v;
}

export function decode(key: Uint8Array, value: Uint8Array): Stat {
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  let tag = '';
  for (let i = 20; i < 32 && value[i] !== 0; i++) tag += String.fromCharCode(value[i]!);
  return {
    key: new DataView(key.buffer, key.byteOffset).getUint32(0, true),
    packets: dv.getBigUint64(0, true),
    bytes: dv.getBigUint64(8, true),
    delta: dv.getInt32(16, true),
    tag,
  };
}

/**
 * The bytes a full read gives for `elems` in walk order. With `stopAt` (1-based, the C's
 * stop_at) the stream ends before that element and the final call never happens.
 */
export function expectedDump(elems: readonly Stat[], stopAt = 0): Uint8Array {
  const out: number[] = [];
  const text = (s: string) => {
    for (const ch of s) out.push(ch.charCodeAt(0));
  };
  text(
    `${'key'.padEnd(8)} ${'packets'.padStart(12)} ${'bytes(hex)'.padStart(10)} ${'delta'.padStart(6)} # tag\n`,
  );
  let packets = 0n;
  let bytes = 0n;
  for (let i = 0; i < elems.length; i++) {
    if (stopAt && i + 1 === stopAt) return Uint8Array.from(out);
    const e = elems[i]!;
    packets += e.packets;
    bytes += e.bytes;
    const delta = e.delta < 0 ? String(e.delta) : `+${e.delta}`;
    text(
      `${String(e.key).padEnd(8)} ${String(e.packets).padStart(12)} ${e.bytes.toString(16).padStart(10)} ` +
        `${delta.padStart(6)} ${e.tag[0] ?? '?'} ${e.tag}\n`,
    );
    const bar = e.packets / 100n > 16n ? 16 : Number(e.packets / 100n);
    text(`${'#'.repeat(bar)}\n`);
  }
  // seq_num of the final call: the last element's (it is not advanced past the end).
  const seqNum = Math.max(0, elems.length - 1);
  text(
    `-- ${seqNum} elements, ${BigInt.asUintN(64, packets)} packets, ${BigInt.asUintN(64, bytes)} bytes --\n`,
  );
  return Uint8Array.from(out);
}

/** xorshift32, so every run fills the map with the same elements. */
export function randomStats(n: number, seed: number): Stat[] {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const keys = new Set<number>();
  const out: Stat[] = [];
  while (out.length < n) {
    const key = next() % 100000;
    if (keys.has(key)) continue;
    keys.add(key);
    const len = next() % 12; // 0..11 characters: an empty tag prints '?'
    let tag = '';
    for (let i = 0; i < len; i++) tag += String.fromCharCode(97 + (next() % 26));
    out.push({
      key,
      packets: next() % 3 ? BigInt(next() % 2000) : BigInt(next()) * BigInt(next() % 4),
      bytes: (BigInt(next()) << 20n) | BigInt(next() & 0xfffff),
      delta: (next() | 0) >> (next() % 31),
      tag,
    });
  }
  return out;
}

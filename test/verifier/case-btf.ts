// The BTF a case file with `-- btf` is loaded with: the kernel takes a function address (a
// bpf_loop or timer callback) only from a program with func_info. One static `int fN(void)` per
// function, and for maps marked `:timer` a value struct whose first member is a struct bpf_timer.
import type { FuncInfo } from '../../src/btf/ext-info.ts';
import type { Insn } from '../../src/isa/index.ts';
import { opcode as op } from '../../src/isa/index.ts';

// kernel: include/uapi/linux/btf.h
const BTF_MAGIC = 0xeb9f;
const KIND_INT = 1;
const KIND_STRUCT = 4;
const KIND_FUNC = 12;
const KIND_FUNC_PROTO = 13;
const INT_ID = 1;
const PROTO_ID = 2;
const TIMER_ID = 3;

export interface CaseBtf {
  /** The raw BTF blob for BPF_BTF_LOAD. */
  btf: Uint8Array;
  /** struct bpf_func_info records (insn_off, type_id). */
  funcInfoBytes: Uint8Array;
  funcInfo: FuncInfo[];
  /** Per timer map (by index): its key and value type ids. */
  mapTypeIds: Map<number, { key: number; value: number }>;
}

/** Functions start at 0 and at every bpf-to-bpf call target and loaded function address. */
export function functionStarts(insns: readonly Insn[]): number[] {
  const starts = new Set([0]);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    if (insn.code === op.OP_CALL && insn.src === op.PSEUDO_CALL) starts.add(i + insn.imm + 1);
    if (insn.code === op.OP_LDDW && insn.src === op.PSEUDO_FUNC) starts.add(i + insn.imm + 1);
  }
  return [...starts].sort((a, b) => a - b);
}

/** timerValueSizes: map index -> value size, for maps whose value starts with a bpf_timer. */
export function caseBtf(insns: readonly Insn[], timerValueSizes: Map<number, number>): CaseBtf {
  const strings: string[] = [''];
  let strLen = 1;
  const str = (s: string): number => {
    const off = strLen;
    strings.push(s);
    strLen += s.length + 1;
    return off;
  };
  const words: number[] = [];
  const info = (kind: number, vlen: number, kindFlag = 0): number =>
    ((kindFlag << 31) | (kind << 24) | vlen) >>> 0;
  // 1: int; 2: int (void); 3: struct bpf_timer (16 bytes, the kernel finds it by name and size)
  words.push(str('int'), info(KIND_INT, 0), 4, (1 << 24) | 32);
  words.push(0, info(KIND_FUNC_PROTO, 0), INT_ID);
  words.push(str('bpf_timer'), info(KIND_STRUCT, 0), 16);
  let nextId = TIMER_ID + 1;
  const mapTypeIds = new Map<number, { key: number; value: number }>();
  for (const [m, size] of timerValueSizes) {
    words.push(str(`timer_value${m}`), info(KIND_STRUCT, 1), size, str('t'), TIMER_ID, 0);
    mapTypeIds.set(m, { key: INT_ID, value: nextId++ });
  }
  const funcInfo: FuncInfo[] = [];
  for (const [k, start] of functionStarts(insns).entries()) {
    words.push(str(`f${k}`), info(KIND_FUNC, 0), PROTO_ID); // vlen 0: static linkage
    funcInfo.push({ insnIdx: start, typeId: nextId++ });
  }
  const enc = new TextEncoder();
  const strBytes = new Uint8Array(strLen);
  let o = 0;
  for (const s of strings) {
    strBytes.set(enc.encode(s), o);
    o += s.length + 1;
  }
  const hdrLen = 24;
  const typeLen = words.length * 4;
  const btf = new Uint8Array(hdrLen + typeLen + strLen);
  const v = new DataView(btf.buffer);
  v.setUint16(0, BTF_MAGIC, true);
  v.setUint8(2, 1); // version
  v.setUint32(4, hdrLen, true);
  v.setUint32(8, 0, true); // type_off
  v.setUint32(12, typeLen, true);
  v.setUint32(16, typeLen, true); // str_off
  v.setUint32(20, strLen, true);
  for (const [i, w] of words.entries()) v.setUint32(hdrLen + i * 4, w, true);
  btf.set(strBytes, hdrLen + typeLen);
  const funcInfoBytes = new Uint8Array(funcInfo.length * 8);
  const fv = new DataView(funcInfoBytes.buffer);
  funcInfo.forEach((f, i) => {
    fv.setUint32(i * 8, f.insnIdx, true);
    fv.setUint32(i * 8 + 4, f.typeId, true);
  });
  return { btf, funcInfoBytes, funcInfo, mapTypeIds };
}

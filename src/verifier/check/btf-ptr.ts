// Pointers to kernel objects described by BTF (kernel: PTR_TO_BTF_ID, btf_struct_access(),
// btf_struct_walk()) and iterator buffers (kernel: PTR_TO_BUF, check_buffer_access()).
// Layouts come from the BTF the program's offsets were resolved against: the CO-RE target when
// there was one, else the program's own BTF (its preserve_access_index declarations).
import type { Btf } from '../../btf/btf.ts';
import { tnum as tnumNs, u64 as u64Ns } from '../domain/index.ts';
import type { VerifierEnv } from '../env.ts';
import { reject } from '../env.ts';
import type { RegState } from '../reg.ts';
import { pointer, regTypeStr, unknownScalar } from '../reg.ts';

// plain objects: tsx turns namespace member reads into getter calls, too slow for the hot paths
const tnum = { ...tnumNs };
const u64 = { ...u64Ns };

/** Pointer members whose targets stay trusted when read from a trusted pointer (kernel: BTF_TYPE_SAFE_TRUSTED). */
const SAFE_TRUSTED: Record<string, readonly string[]> = {
  bpf_iter_meta: ['seq'],
};

/**
 * The full definition of `struct name` in the layout BTF, else its forward declaration (a typed
 * pointer to pass to helpers, which loads cannot go through), or 0.
 */
export function structId(btf: Btf | undefined, name: string): number {
  if (!btf) return 0;
  const t = btf.findByName(name, 'struct').find((s) => s.kind === 'struct');
  return t?.id ?? btf.findByName(name, 'fwd')[0]?.id ?? 0;
}

export function btfTypeName(btf: Btf | undefined, id: number): string {
  if (!btf || !id) return '';
  return btf.typeById(id).name;
}

/** A pointer to `struct name` (kernel: PTR_TO_BTF_ID with flags). */
export function btfPointer(
  env: VerifierEnv,
  name: string,
  flags: { trusted?: boolean; maybeNull?: boolean } = {},
): RegState {
  return pointer('PTR_TO_BTF_ID', {
    btfId: structId(env.layoutBtf, name),
    trusted: flags.trusted === true,
    maybeNull: flags.maybeNull === true,
  });
}

/** `ptr_NAME` as the kernel's messages name a BTF pointer. */
const ptrName = (env: VerifierEnv, reg: RegState): string =>
  `ptr_${btfTypeName(reg.alloc ? env.btf : env.layoutBtf, reg.btfId)}`;

// kernel: check_ptr_to_btf_access() + btf_struct_access() for tracing programs (reads only)
export function checkPtrToBtfAccess(
  env: VerifierEnv,
  regno: number,
  reg: RegState,
  off: number,
  size: number,
  t: 'read' | 'write',
): RegState {
  if (off < 0) reject(`R${regno} is ${ptrName(env, reg)} invalid negative access: off=${off}`);
  if (!tnum.isConst(reg.s.varOff) || !u64.isZero(tnum.value(reg.s.varOff))) {
    reject(
      `R${regno} is ${ptrName(env, reg)} invalid variable offset: off=${off}, var_off=${tnum.strn(reg.s.varOff)}`,
    );
  }
  // objects of bpf_obj_new() are the program's own: laid out by its BTF, writable
  // (kernel: type_is_ptr_alloc_obj(); a loaded rcu_ kptr of one is too)
  if (t === 'write' && !(reg.alloc && !reg.untrusted)) reject('only read is supported');
  const btf = reg.alloc ? env.btf : env.layoutBtf;
  const st = btf && reg.btfId ? btf.resolve(reg.btfId) : undefined;
  // tsbpf has no layout for a struct the BTF only declares: it cannot know what is there
  if (!btf || !st || (st.kind !== 'struct' && st.kind !== 'union')) {
    reject(`R${regno} invalid mem access '${regTypeStr(reg)}' (no BTF layout for this struct)`);
  }
  if (off + size > st.size) reject(`access beyond struct ${st.name} at off ${off} size ${size}`);
  // kernel: btf_struct_walk(): an 8-byte read of a pointer member yields a pointer to its struct
  // (also one inside a nested struct or union, as vmlinux's __bpf_md_ptr() members are)
  const m = size === 8 && !reg.alloc ? pointerMemberAt(btf, st, off) : undefined;
  const mt = m && btf.resolve(m.type);
  if (m && mt && mt.kind === 'ptr') {
    const target = btf.resolve(mt.type);
    // a declared-only struct (seq_file) is still a typed pointer, to pass to helpers
    if (target.kind === 'struct' || target.kind === 'union' || target.kind === 'fwd') {
      const trusted = reg.trusted && (SAFE_TRUSTED[st.name]?.includes(m.name) ?? false);
      return pointer('PTR_TO_BTF_ID', { btfId: target.id, trusted });
    }
  }
  return unknownScalar();
}

/** The pointer member starting exactly at byte `off` of `st`, looked for in nested structs and unions too. */
function pointerMemberAt(
  btf: Btf,
  st: { members: readonly { name: string; type: number; bitOffset: number; bitfieldSize: number }[] },
  off: number,
): { name: string; type: number } | undefined {
  for (const m of st.members) {
    if (m.bitfieldSize) continue;
    const moff = m.bitOffset / 8;
    const mt = btf.resolve(m.type);
    if (moff === off && mt.kind === 'ptr') return m;
    if ((mt.kind === 'struct' || mt.kind === 'union') && off >= moff && off < moff + btf.sizeof(m.type)) {
      const inner = pointerMemberAt(btf, mt, off - moff);
      if (inner) return inner;
    }
  }
  return undefined;
}

// kernel: check_buffer_access() for iterator key/value buffers (max access is checked at attach)
export function checkBufferAccess(regno: number, reg: RegState, off: number, size: number): void {
  if (off < 0) {
    reject(`R${regno} invalid ${reg.rdonly ? 'rdonly' : 'rdwr'} buffer access: off=${off}, size=${size}`);
  }
  if (!tnum.isConst(reg.s.varOff) || !u64.isZero(tnum.value(reg.s.varOff))) {
    reject(`R${regno} invalid variable buffer offset: off=${off}, var_off=${tnum.strn(reg.s.varOff)}`);
  }
}

// kernel: btf_struct_walk() asked for one byte at `off`: the struct member that starts exactly
// there, descending through the structs that contain it; 0 when a scalar or pointer is there.
function nestedStructAt(btf: Btf, id: number, off: number): number {
  let t = btf.resolve(id);
  for (let depth = 0; depth < 32; depth++) {
    if (t.kind !== 'struct' && t.kind !== 'union') return 0;
    let inner: typeof t | undefined;
    for (const m of t.members) {
      if (m.bitfieldSize) continue;
      let moff = m.bitOffset / 8;
      if (off < moff) break;
      let mt = btf.resolve(m.type);
      const msize = btf.sizeof(m.type);
      if (off >= moff + msize) continue;
      if (mt.kind === 'array') {
        // an element of an array of structs
        const elem = btf.resolve(mt.type);
        const esize = btf.sizeof(mt.type);
        if (esize === 0) return 0;
        moff += Math.floor((off - moff) / esize) * esize;
        mt = elem;
      }
      if (mt.kind !== 'struct' && mt.kind !== 'union') return 0;
      if (off === moff) return mt.id;
      off -= moff;
      inner = mt;
      break;
    }
    if (!inner) return 0;
    t = inner;
  }
  return 0;
}

/**
 * Does a PTR_TO_BTF_ID at fixed offset `off` point to a `struct want` (itself, or a struct nested
 * at that offset, e.g. &file->f_path)? kernel: btf_struct_ids_match() (non-strict), by name.
 */
export function btfStructIdsMatch(btf: Btf | undefined, id: number, off: number, want: string): boolean {
  if (!btf || !id) return false;
  if (off === 0 && btf.typeById(id).name === want) return true;
  for (let depth = 0; depth < 32; depth++) {
    const next = nestedStructAt(btf, id, off);
    if (!next) return false;
    if (btf.typeById(next).name === want) return true;
    id = next;
    off = 0;
  }
  return false;
}

// BTF → C declarations, in the spirit of `bpftool btf dump file X format c`: named structs,
// unions, enums and typedefs, each emitted after the types it needs by value, with forward
// declarations for types only seen through pointers. Anonymous types are written inline.
import { BtfError, type Where } from '../errors.ts';
import type { Btf } from './btf.ts';
import type { BtfComposite, BtfEnum, BtfType } from './types.ts';

type State = 'none' | 'busy' | 'done';

const QUALIFIERS = new Set(['const', 'volatile', 'restrict', 'type_tag']);
const MAX_DEPTH = 64;

/** Hostile BTF (huge structs, deeply repeated anonymous types) must not exhaust memory. */
const MAX_OUTPUT = 16 << 20;

class CDumper {
  private readonly out: string[] = [];
  private budget = MAX_OUTPUT;
  private readonly state = new Map<number, State>();
  private readonly declared = new Set<number>();
  /** Anonymous enums that some other type names, so they are printed inline rather than standalone. */
  private readonly referenced = new Set<number>();

  constructor(
    private readonly btf: Btf,
    private readonly where: Where,
  ) {
    for (const t of btf.types) {
      for (const id of refsOf(t)) this.referenced.add(id);
    }
  }

  run(): string {
    for (const t of this.btf.types) {
      if (t.kind === 'struct' || t.kind === 'union' || t.kind === 'typedef' || t.kind === 'fwd') {
        if (t.name) this.visit(t.id, true, 0);
      } else if (t.kind === 'enum' || t.kind === 'enum64') {
        if (t.name || !this.referenced.has(t.id)) this.visit(t.id, true, 0);
      }
    }
    return this.out.join('\n');
  }

  private type(id: number): BtfType | undefined {
    return id === 0 ? undefined : this.btf.types[id - 1];
  }

  /** Makes sure everything `id` needs is printed; `strong` means a complete type is needed. */
  private visit(id: number, strong: boolean, depth: number): void {
    const t = this.type(id);
    if (!t || depth > MAX_DEPTH) return;
    switch (t.kind) {
      case 'ptr':
        this.visit(t.type, false, depth + 1);
        return;
      case 'array':
        this.visit(t.type, strong, depth + 1);
        return;
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        this.visit(t.type, strong, depth + 1);
        return;
      case 'func_proto':
        this.visit(t.type, false, depth + 1);
        for (const p of t.params) this.visit(p.type, false, depth + 1);
        return;
      case 'fwd':
        if (!this.declared.has(id) && this.state.get(id) !== 'done') {
          this.declared.add(id);
          this.out.push(`${t.union ? 'union' : 'struct'} ${t.name};\n`);
        }
        return;
      case 'enum':
      case 'enum64':
        if (!t.name) return; // inline
        if (this.state.get(id)) return;
        this.state.set(id, 'done');
        this.out.push(`${this.enumBody(t, 0)};\n`);
        return;
      case 'struct':
      case 'union':
        if (!t.name) {
          // Anonymous types are printed inline; their dependencies only need visiting once.
          if (this.state.get(id) === 'done') return;
          this.state.set(id, 'done');
          for (const m of t.members) this.visit(m.type, true, depth + 1);
          return;
        }
        if (!strong) {
          if (!this.state.get(id) && !this.declared.has(id)) {
            this.declared.add(id);
            this.out.push(`${t.kind} ${t.name};\n`);
          }
          return;
        }
        if (this.state.get(id)) return; // done, or busy: a by-value cycle is impossible in C
        this.state.set(id, 'busy');
        for (const m of t.members) this.visit(m.type, true, depth + 1);
        this.state.set(id, 'done');
        this.out.push(`${this.compositeBody(t, 0)};\n`);
        return;
      case 'typedef': {
        this.visit(t.type, strong, depth + 1);
        if (this.state.get(id)) return;
        this.state.set(id, 'busy');
        this.visit(t.type, false, depth + 1);
        this.state.set(id, 'done');
        this.out.push(`typedef ${this.decl(t.type, t.name, 0)};\n`);
        return;
      }
      default:
        return;
    }
  }

  private enumBody(t: BtfEnum, indent: number): string {
    this.spend(t.values.length * 16 + 16);
    const pad = '\t'.repeat(indent + 1);
    const suffix = t.kind === 'enum64' ? (t.signed ? 'LL' : 'ULL') : '';
    const lines = t.values.map((v) => `${pad}${v.name} = ${v.value}${suffix},`);
    return `enum${t.name ? ` ${t.name}` : ''} {\n${lines.join('\n')}\n${'\t'.repeat(indent)}}`;
  }

  /** Counts generated characters; throws once the dump would be absurdly large. */
  spend(n: number): void {
    this.budget -= n;
    if (this.budget < 0) {
      throw new BtfError(`C dump would exceed ${MAX_OUTPUT} bytes`, {
        where: { section: '.BTF', ...this.where },
      });
    }
  }

  private compositeBody(t: BtfComposite, indent: number): string {
    this.spend(t.members.length * 16 + 16);
    const pad = '\t'.repeat(indent + 1);
    const isStruct = t.kind === 'struct';
    const packed = isStruct && this.isPacked(t);
    const lines: string[] = [];
    let off = 0;
    let prevBitfield = false;
    for (const m of t.members) {
      const align = packed ? 1 : this.safe(() => this.btf.alignof(m.type), 1);
      if (isStruct)
        emitPadding(lines, pad, off, m.bitOffset, align, prevBitfield && m.bitfieldSize !== 0, this);
      const bits = m.bitfieldSize ? `: ${m.bitfieldSize}` : '';
      lines.push(`${pad}${this.decl(m.type, m.name, indent + 1)}${bits};`);
      if (m.bitfieldSize) {
        off = m.bitOffset + m.bitfieldSize;
        prevBitfield = true;
      } else {
        off = m.bitOffset + 8 * this.safe(() => this.btf.sizeof(m.type), 0);
        prevBitfield = false;
      }
    }
    if (isStruct)
      emitPadding(
        lines,
        pad,
        off,
        t.size * 8,
        this.safe(() => this.btf.alignof(t.id), 1),
        false,
        this,
      );
    const head = `${t.kind}${t.name ? ` ${t.name}` : ''}`;
    const body = lines.length ? `{\n${lines.join('\n')}\n${'\t'.repeat(indent)}}` : '{}';
    return `${head} ${body}${packed ? ' __attribute__((packed))' : ''}`;
  }

  /** libbpf btf_dump: btf_is_struct_packed(). */
  private isPacked(t: BtfComposite): boolean {
    const align = this.safe(() => this.btf.alignof(t.id), 1);
    if (t.size % align !== 0) return true;
    return t.members.some(
      (m) => m.bitfieldSize === 0 && m.bitOffset % (8 * this.safe(() => this.btf.alignof(m.type), 1)) !== 0,
    );
  }

  private safe<T>(f: () => T, fallback: T): T {
    try {
      return f();
    } catch {
      return fallback;
    }
  }

  /** A C declaration of `name` with type `id`, e.g. `int (*cb)(int, struct x *)`. */
  decl(id: number, name: string, indent: number): string {
    let d = name;
    let cur = id;
    let quals: string[] = [];
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const t = this.type(cur);
      if (t && QUALIFIERS.has(t.kind)) {
        quals.push(t.kind === 'type_tag' ? `__attribute__((btf_type_tag("${t.name}")))` : t.kind);
        cur = (t as { type: number }).type;
        continue;
      }
      if (t?.kind === 'ptr') {
        // Qualifiers seen so far sit on the pointer itself: `char * const p`.
        d = `*${quals.length ? ` ${quals.reverse().join(' ')} ` : ''}${d}`;
        quals = [];
        cur = t.type;
        continue;
      }
      if (t?.kind === 'array') {
        d = `${d.startsWith('*') ? `(${d})` : d}[${t.nelems}]`;
        cur = t.type;
        continue;
      }
      if (t?.kind === 'func_proto') {
        const params = t.params.map((p) => (p.type === 0 ? '...' : this.decl(p.type, '', indent)));
        d = `${d.startsWith('*') ? `(${d})` : d}(${params.length ? params.join(', ') : 'void'})`;
        cur = t.type;
        continue;
      }
      // bpftool writes cv-qualifiers before the base type and type tags after it.
      quals.reverse();
      const tags = quals.filter((q) => q.startsWith('__attribute__'));
      const cv = quals.filter((q) => !q.startsWith('__attribute__'));
      const head = [...cv, this.baseName(t, indent), ...tags].join(' ');
      return d ? `${head} ${d}` : head;
    }
    return `/* type ${id} nests too deeply */ void ${name}`;
  }

  private baseName(t: BtfType | undefined, indent: number): string {
    if (!t) return 'void';
    switch (t.kind) {
      case 'struct':
      case 'union':
        return t.name ? `${t.kind} ${t.name}` : this.compositeBody(t, indent);
      case 'enum':
      case 'enum64':
        return t.name ? `enum ${t.name}` : this.enumBody(t, indent);
      case 'fwd':
        return `${t.union ? 'union' : 'struct'} ${t.name}`;
      case 'int':
      case 'float':
      case 'typedef':
        return t.name;
      default:
        return `/* ${t.kind} */ void`;
    }
  }
}

const PADS = [
  { name: 'long', bits: 64 },
  { name: 'int', bits: 32 },
  { name: 'short', bits: 16 },
  { name: 'char', bits: 8 },
];

/**
 * Explicit `long: 64;`-style padding where natural alignment does not explain a gap, so the
 * printed struct has the same layout. Mirrors libbpf's btf_dump_emit_bit_padding().
 */
function emitPadding(
  lines: string[],
  pad: string,
  cur: number,
  next: number,
  nextAlign: number,
  inBitfield: boolean,
  budget: { spend(n: number): void },
) {
  if (cur >= next) return;
  budget.spend(((next - cur) / 64) * 10);
  let padBits = 0;
  let padType = '';
  let newOff = 0;
  for (const p of PADS) {
    padBits = p.bits;
    padType = p.name;
    newOff = Math.ceil(cur / padBits) * padBits;
    if (newOff <= next) break;
  }
  if (newOff > cur && newOff <= next) {
    if (
      inBitfield ||
      (newOff === next && Math.ceil(cur / (nextAlign * 8)) * nextAlign * 8 !== newOff) ||
      (newOff !== next && next - newOff <= newOff - cur)
    ) {
      lines.push(`${pad}${padType}: ${inBitfield ? newOff - cur : 0};`);
    }
    cur = newOff;
  }
  while (cur < next) {
    const bits = Math.min(next - cur, padBits);
    if (bits === padBits) {
      lines.push(`${pad}${padType}: ${padBits};`);
      cur += bits;
      continue;
    }
    const smallest = [...PADS].reverse().find((p) => p.bits >= bits)!;
    lines.push(`${pad}${smallest.name}: ${bits};`);
    cur += bits;
  }
}

function refsOf(t: BtfType): number[] {
  switch (t.kind) {
    case 'struct':
    case 'union':
      return t.members.map((m) => m.type);
    case 'func_proto':
      return [t.type, ...t.params.map((p) => p.type)];
    case 'datasec':
      return t.vars.map((v) => v.type);
    case 'int':
    case 'enum':
    case 'enum64':
    case 'fwd':
    case 'float':
      return [];
    default:
      return [t.type];
  }
}

/** C declarations for every named struct, union, enum and typedef in `btf`. */
export function formatBtf(btf: Btf, where: Where = {}): string {
  return new CDumper(btf, where).run();
}

// A parsed BTF type graph and the queries everyone needs: skip modifiers, sizeof,
// member offsets, name lookup. Ids were validated at parse time, so lookups only guard
// against reference cycles (which the kernel rejects, but a hostile file can contain).
import { BtfError } from '../errors.ts';
import { type BtfJsonType, btfToJson } from './format-json.ts';
import {
  type BtfComposite,
  type BtfMember,
  type BtfType,
  type BtfTypeOrVoid,
  isModifier,
  VOID,
} from './types.ts';

/** libbpf gives up resolving after this many hops (MAX_RESOLVE_DEPTH). */
const MAX_RESOLVE_DEPTH = 32;

export interface StringSource {
  get(off: number, what: string): string;
}

export interface MemberLocation {
  /** The member's type (unresolved). */
  type: number;
  /** Offset in bits from the start of the outer type. */
  bitOffset: number;
  /** Non-zero for bitfields. */
  bitfieldSize: number;
}

export class Btf {
  private byName?: Map<string, BtfType[]>;

  constructor(
    /** types[i] has id i + 1. */
    readonly types: readonly BtfType[],
    readonly strings: StringSource,
  ) {}

  get count(): number {
    return this.types.length;
  }

  typeById(id: number): BtfTypeOrVoid {
    if (id === 0) return VOID;
    const t = this.types[id - 1];
    if (!t) throw new BtfError(`type id ${id} does not exist (${this.types.length} types)`);
    return t;
  }

  /** Follows typedefs and modifiers (const, volatile, restrict, type tags) to the underlying type. */
  resolve(id: number): BtfTypeOrVoid {
    return this.skip(id, true);
  }

  /** Follows modifiers only, keeping typedefs. */
  skipModifiers(id: number): BtfTypeOrVoid {
    return this.skip(id, false);
  }

  private skip(id: number, typedefs: boolean): BtfTypeOrVoid {
    let t = this.typeById(id);
    for (let depth = 0; isModifier(t) || (typedefs && t.kind === 'typedef'); depth++) {
      if (depth > MAX_RESOLVE_DEPTH) throw new BtfError(`type [${id}]: modifier chain too long or cyclic`);
      t = this.typeById((t as { type: number }).type);
    }
    return t;
  }

  /** Size in bytes, as the kernel's btf_resolve_size(). */
  sizeof(id: number): number {
    let mult = 1;
    let cur = id;
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      const t = this.resolve(cur);
      switch (t.kind) {
        case 'int':
        case 'struct':
        case 'union':
        case 'enum':
        case 'enum64':
        case 'datasec':
        case 'float':
          return mult * t.size;
        case 'ptr':
          return mult * 8;
        case 'array':
          mult *= t.nelems;
          cur = t.type;
          continue;
        case 'var':
          cur = t.type;
          continue;
        default:
          throw new BtfError(`type [${id}]: ${t.kind} has no size`);
      }
    }
    throw new BtfError(`type [${id}]: array nesting too deep or cyclic`);
  }

  /** Alignment in bytes, as libbpf's btf__align_of(). */
  alignof(id: number, depth = 0): number {
    // Memoised: a hostile DAG of structs sharing member types would otherwise be exponential.
    const hit = this.alignCache.get(id);
    if (hit !== undefined) return hit;
    const a = this.alignofUncached(id, depth);
    this.alignCache.set(id, a);
    return a;
  }

  private readonly alignCache = new Map<number, number>();

  private alignofUncached(id: number, depth: number): number {
    if (depth > MAX_RESOLVE_DEPTH) throw new BtfError(`type [${id}]: nesting too deep or cyclic`);
    const t = this.resolve(id);
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
        return Math.min(8, Math.max(1, t.size));
      case 'ptr':
        return 8;
      case 'array':
        return this.alignof(t.type, depth + 1);
      case 'struct':
      case 'union': {
        let align = 1;
        for (const m of t.members) {
          // A member at an offset that is not a multiple of its natural alignment means the struct is packed.
          const a = this.alignof(m.type, depth + 1);
          if (m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return 1;
          align = Math.max(align, a);
        }
        // A size that is not a multiple of the alignment also means packed.
        return t.size % align === 0 ? align : 1;
      }
      default:
        throw new BtfError(`type [${id}]: ${t.kind} has no alignment`);
    }
  }

  /** All types with this name, in id order. */
  findByName(name: string, kind?: BtfType['kind']): BtfType[] {
    if (!this.byName) {
      this.byName = new Map();
      for (const t of this.types) {
        if (!t.name) continue;
        const list = this.byName.get(t.name);
        if (list) list.push(t);
        else this.byName.set(t.name, [t]);
      }
    }
    const all = this.byName.get(name) ?? [];
    return kind ? all.filter((t) => t.kind === kind) : all;
  }

  /** The single type with this name (and kind); throws if there is none. */
  typeByName(name: string, kind?: BtfType['kind']): BtfType {
    const found = this.findByName(name, kind);
    if (found.length === 0) throw new BtfError(`no type named ${kind ? `${kind} ` : ''}${name}`);
    return found[0]!;
  }

  /**
   * Locates a member by a dotted path (`a.b.c`), descending into anonymous struct/union
   * members as C does. Offsets add up along the path.
   */
  memberOffset(id: number, path: string): MemberLocation {
    let type = id;
    let bitOffset = 0;
    let bitfieldSize = 0;
    for (const part of path.split('.')) {
      const t = this.resolve(type);
      if (t.kind !== 'struct' && t.kind !== 'union') {
        throw new BtfError(`type [${id}]: cannot take member "${part}" of ${t.kind}`);
      }
      const found = this.findMember(t, part, 0, new Set());
      if (!found) throw new BtfError(`type [${id}]: ${t.kind} ${t.name || '(anon)'} has no member "${part}"`);
      bitOffset += found.bitOffset;
      bitfieldSize = found.member.bitfieldSize;
      type = found.member.type;
    }
    return { type, bitOffset, bitfieldSize };
  }

  private findMember(
    t: BtfComposite,
    name: string,
    depth: number,
    /** Anonymous types already searched in vain: searching again cannot succeed. */
    missed: Set<number>,
  ): { member: BtfMember; bitOffset: number } | undefined {
    if (depth > MAX_RESOLVE_DEPTH || missed.has(t.id)) return undefined;
    for (const m of t.members) {
      if (m.name === name) return { member: m, bitOffset: m.bitOffset };
      if (m.name === '') {
        const inner = this.resolve(m.type);
        if (inner.kind === 'struct' || inner.kind === 'union') {
          const r = this.findMember(inner, name, depth + 1, missed);
          if (r) return { member: r.member, bitOffset: m.bitOffset + r.bitOffset };
        }
      }
    }
    missed.add(t.id);
    return undefined;
  }

  /** JSON form, like `bpftool btf dump -j`. */
  toJSON(): { types: BtfJsonType[] } {
    return btfToJson(this);
  }
}

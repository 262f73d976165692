// A small WebAssembly module builder: deduplicated function types, imports (memory, globals,
// functions), functions with typed locals, exports. Imports must be declared before the first
// function is added, since defined functions are numbered after them.
import { InternalError } from '../../errors.ts';
import { ByteWriter } from './encoder.ts';
import { W as OPCODES } from './opcodes.ts';

const W = OPCODES;

export type ValType = typeof W.I32 | typeof W.I64;

export interface FuncType {
  params: readonly ValType[];
  results: readonly ValType[];
}

/** One function's instruction stream; `code` holds the expression, without locals or size. */
export class FuncBody {
  readonly code = new ByteWriter();
  /** Locals beyond the parameters, in declaration order. */
  readonly locals: ValType[] = [];

  constructor(readonly nParams: number) {}

  /** Declares a new local and returns its index. */
  local(t: ValType): number {
    this.locals.push(t);
    return this.nParams + this.locals.length - 1;
  }

  op(b: number): void {
    this.code.u8(b);
  }
  get(l: number): void {
    this.code.u8(W.LOCAL_GET);
    this.code.uleb(l);
  }
  set(l: number): void {
    this.code.u8(W.LOCAL_SET);
    this.code.uleb(l);
  }
  tee(l: number): void {
    this.code.u8(W.LOCAL_TEE);
    this.code.uleb(l);
  }
  i32(v: number): void {
    this.code.u8(W.I32_CONST);
    this.code.sleb32(v);
  }
  i64(lo: number, hi: number): void {
    this.code.u8(W.I64_CONST);
    this.code.sleb64(lo, hi);
  }
  /** Load or store with alignment hint 0 (eBPF accesses may be unaligned) and a static offset. */
  mem(op: number, offset: number): void {
    this.code.u8(op);
    this.code.u8(0);
    this.code.uleb(offset);
  }
  call(fn: number): void {
    this.code.u8(W.CALL);
    this.code.uleb(fn);
  }
  br(op: typeof W.BR | typeof W.BR_IF, depth: number): void {
    this.code.u8(op);
    this.code.uleb(depth);
  }
  /** Current position in `code`, for mapping trap offsets back to instructions. */
  get pos(): number {
    return this.code.len;
  }
}

interface Export {
  name: string;
  kind: number;
  index: number;
}

export interface BuiltModule {
  bytes: Uint8Array;
  /** Per defined function: module-relative byte offset where its instruction stream starts. */
  codeStarts: number[];
}

export class ModuleBuilder {
  private readonly types: FuncType[] = [];
  private readonly typeKeys = new Map<string, number>();
  private readonly imports = new ByteWriter();
  private nImports = 0;
  private nFuncImports = 0;
  private readonly funcImportIdx = new Map<string, number>();
  private readonly funcs: { type: number; body: FuncBody }[] = [];
  private readonly exports: Export[] = [];

  typeIndex(t: FuncType): number {
    const key = `${t.params.join(',')}:${t.results.join(',')}`;
    let i = this.typeKeys.get(key);
    if (i === undefined) {
      i = this.types.length;
      this.types.push(t);
      this.typeKeys.set(key, i);
    }
    return i;
  }

  private importHead(module: string, name: string, kind: number): void {
    if (this.funcs.length > 0) throw new InternalError('wasm builder: import after the first function');
    this.imports.name(module);
    this.imports.name(name);
    this.imports.u8(kind);
    this.nImports++;
  }

  /** Imports a memory with no maximum, so any memory of at least `minPages` fits. */
  importMemory(module: string, name: string, minPages = 0): void {
    this.importHead(module, name, W.EXT_MEMORY);
    this.imports.u8(0);
    this.imports.uleb(minPages);
  }

  /** Imports an immutable global; returns its global index (only global imports count). */
  importGlobal(module: string, name: string, t: ValType): void {
    this.importHead(module, name, W.EXT_GLOBAL);
    this.imports.u8(t);
    this.imports.u8(0);
  }

  /** Imports a function once per name; later calls return the same function index. */
  importFunc(module: string, name: string, t: FuncType): number {
    const key = `${module}.${name}`;
    const known = this.funcImportIdx.get(key);
    if (known !== undefined) return known;
    this.importHead(module, name, W.EXT_FUNC);
    this.imports.uleb(this.typeIndex(t));
    const idx = this.nFuncImports++;
    this.funcImportIdx.set(key, idx);
    return idx;
  }

  /** Function index the k-th defined function will have. */
  funcIndex(k: number): number {
    return this.nFuncImports + k;
  }

  addFunc(t: FuncType, body: FuncBody): number {
    this.funcs.push({ type: this.typeIndex(t), body });
    return this.nFuncImports + this.funcs.length - 1;
  }

  exportFunc(name: string, funcIndex: number): void {
    this.exports.push({ name, kind: W.EXT_FUNC, index: funcIndex });
  }

  finish(): BuiltModule {
    const w = new ByteWriter();
    w.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

    section(w, W.SEC_TYPE, () => {
      w.uleb(this.types.length);
      for (const t of this.types) {
        w.u8(W.FUNC_TYPE);
        w.uleb(t.params.length);
        for (const p of t.params) w.u8(p);
        w.uleb(t.results.length);
        for (const r of t.results) w.u8(r);
      }
    });
    section(w, W.SEC_IMPORT, () => {
      w.uleb(this.nImports);
      w.bytes(this.imports.finish());
    });
    section(w, W.SEC_FUNCTION, () => {
      w.uleb(this.funcs.length);
      for (const f of this.funcs) w.uleb(f.type);
    });
    section(w, W.SEC_EXPORT, () => {
      w.uleb(this.exports.length);
      for (const e of this.exports) {
        w.name(e.name);
        w.u8(e.kind);
        w.uleb(e.index);
      }
    });
    const codeStarts: number[] = [];
    section(w, W.SEC_CODE, () => {
      w.uleb(this.funcs.length);
      for (const { body } of this.funcs) {
        const at = w.placeholder();
        // Locals as runs of equal types.
        const runs: [number, ValType][] = [];
        for (const t of body.locals) {
          const last = runs[runs.length - 1];
          if (last && last[1] === t) last[0]++;
          else runs.push([1, t]);
        }
        w.uleb(runs.length);
        for (const [n, t] of runs) {
          w.uleb(n);
          w.u8(t);
        }
        codeStarts.push(w.len);
        w.bytes(body.code.finish());
        w.patchSize(at);
      }
    });
    return { bytes: w.finish(), codeStarts };
  }
}

function section(w: ByteWriter, id: number, fill: () => void): void {
  w.u8(id);
  const at = w.placeholder();
  fill();
  w.patchSize(at);
}

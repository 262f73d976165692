// tsbpf's public API: what `import ... from 'tsbpf'` gives.
// The common path is at the top level (spec → verify → live collection → run); each module is
// also exported whole as a namespace for tools that need its details.
//
//   const spec = loadCollectionSpec(bytes, { file: 'xdp.bpf.o' });   // parsed object, nothing live
//   const coll = newCollection(spec);                                 // maps created, programs verified
//   const res = coll.program('xdp_prog').run({ data });               // BPF_PROG_TEST_RUN semantics

export {
  BtfError,
  AsmError,
  DecodeError,
  ElfError,
  exitCodeFor,
  InputError,
  InternalError,
  RuntimeFault,
  TsbpfError,
  type TsbpfErrorJSON,
  UsageError,
  type Where,
} from './errors.ts';
export { decodeProgram, disassemble, encodeProgram, type Insn } from './isa/index.ts';
export { loadCollectionSpec, linkProgram } from './elf/index.ts';
export {
  type KernelOption,
  verify,
  type VerifierOptions,
  type VerifyProgram,
  type VerifyResult,
} from './verifier/index.ts';
// verify(prog, { kernel: '5.10' }) answers as that release's verifier; these give the release data
export {
  firstReason,
  KERNEL_VERSIONS,
  type KernelProfile,
  type KernelVerdict,
  kernelProfile,
  kernelVerdicts,
} from './kernels/index.ts';
export { Collection, type CollectionOptions, type Engine, newCollection, Program } from './runtime/index.ts';

export * as btf from './btf/index.ts';
export * as elf from './elf/index.ts';
export * as isa from './isa/index.ts';
export * as jit from './jit/index.ts';
export * as kernels from './kernels/index.ts';
export * as maps from './maps/index.ts';
export * as runtime from './runtime/index.ts';
export * as verifier from './verifier/index.ts';
export * as vm from './vm/index.ts';

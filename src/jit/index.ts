// Public API of the eBPF → WebAssembly JIT.
export { JitCache, type CacheStats } from './cache.ts';
export { type CompiledProgram, type CompileOptions, compile } from './compile.ts';
export { JitEngine, type JitOptions, type JitStats, sharedJitEngine } from './engine.ts';

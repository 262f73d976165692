// Public API of the eBPF → WebAssembly JIT. Use: new Vm({ engine: sharedJitEngine().run }),
// or testRun(prog, { type, engine: 'jit' }).
export { JitCache, type CacheStats } from './cache.ts';
export { type CompiledProgram, type CompileOptions, compile } from './compile.ts';
export { JitEngine, type JitOptions, type JitStats, sharedJitEngine } from './engine.ts';
export { isVerified, markVerified } from './verified.ts';

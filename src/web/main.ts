// The playground's wiring: gallery and file loading, the editor, and the verify / run / step /
// maps / output / Life panels. State that can be shared lives in the URL hash (share.ts).
import { disassemble } from '../isa/disasm.ts';
import { RingbufMap } from '../maps/ringbuf.ts';
import { errorText } from './session.ts';
import { KERNEL_VERSIONS } from '../kernels/features.ts';
import { OBJECTS } from './gallery.ts';
import { PACKETS, parseHex, toHex } from './packets.ts';
import { SNIPPETS } from './snippets.ts';
import { highlightAsm } from './highlight.ts';
import { isLife, LifeView } from './life.ts';
import {
  openWorkspace,
  type ProgramView,
  programView as programViewFor,
  type RunOutput,
  Runner,
  type Source,
  sourceFromFile,
  type Verification,
  type Workspace,
} from './session.ts';
import {
  b64ToBytes,
  bytesToB64,
  decodeState,
  encodeState,
  MAX_SHARED_BYTES,
  type SharedState,
} from './share.ts';
import {
  $,
  markInsn,
  renderListing,
  renderMaps,
  renderStates,
  renderStep,
  renderVerification,
} from './views.ts';
import type { VerifyReply, VerifyRequest } from './verify-worker.ts';

const TYPES = ['socket_filter', 'sched_cls', 'sched_act', 'xdp', 'syscall', 'raw_tracepoint'];
const XDP_ACTIONS = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'];
const TRACE_LIMIT = 20_000;

const editor = $<HTMLTextAreaElement>('editor');
const hl = $('hl');
const listing = $('listing');
const progSel = $<HTMLSelectElement>('prog');
const typeSel = $<HTMLSelectElement>('type');
// the Linux release whose verifier rules apply (src/verifier/profile.ts); newest first
const kernelSel = $<HTMLSelectElement>('kernel');
kernelSel.innerHTML = [...KERNEL_VERSIONS]
  .reverse()
  .map((v) => `<option value="${v}">${v}</option>`)
  .join('');
const packet = $<HTMLTextAreaElement>('packet');
const engineSel = $<HTMLSelectElement>('engine');
const output = $('output');

interface AppState {
  ws?: Workspace;
  view?: ProgramView;
  runner?: Runner;
  verification?: Verification;
  trace?: RunOutput;
  step: number;
  galleryId?: string;
  life?: LifeView;
}
const app: AppState = { step: 0 };
const objectCache = new Map<string, Uint8Array>();

function status(text: string): void {
  $('status').textContent = text;
}

function showError(e: unknown): void {
  const el = $('load-error');
  el.hidden = e === undefined;
  el.textContent = e === undefined ? '' : errorText(e);
}

function out(line: string): void {
  output.textContent += `${line}\n`;
  output.scrollTop = output.scrollHeight;
}

// ---- editor ----

function setEditor(text: string, readOnly: boolean): void {
  editor.value = text;
  editor.readOnly = readOnly;
  paintEditor();
}

function paintEditor(): void {
  hl.innerHTML = highlightAsm(editor.value);
  hl.scrollTop = editor.scrollTop;
  hl.scrollLeft = editor.scrollLeft;
}

editor.addEventListener('scroll', () => {
  hl.scrollTop = editor.scrollTop;
  hl.scrollLeft = editor.scrollLeft;
});

let editTimer: ReturnType<typeof setTimeout> | undefined;
editor.addEventListener('input', () => {
  paintEditor();
  clearTimeout(editTimer);
  editTimer = setTimeout(() => {
    const src = app.ws?.source;
    if (src?.kind !== 'asm') return;
    load({ ...src, text: editor.value }, { prog: src.name, type: typeSel.value });
  }, 350);
});

// ---- loading ----

function load(src: Source, opts: { prog?: string; type?: string } = {}): void {
  app.life?.halt();
  app.life = undefined;
  app.runner?.close();
  app.runner = undefined;
  app.view = undefined;
  app.trace = undefined;
  showError(undefined);
  $('src-name').textContent = src.name;
  try {
    app.ws = openWorkspace(src);
  } catch (e) {
    app.ws = undefined;
    if (src.kind === 'asm') setEditor(src.text, false);
    showError(e);
    clearVerification();
    return;
  }
  const ws = app.ws;
  progSel.innerHTML = ws.programs.map((p) => `<option>${p}</option>`).join('');
  progSel.disabled = ws.programs.length < 2;
  if (opts.prog && ws.programs.includes(opts.prog)) progSel.value = opts.prog;
  typeSel.disabled = !!ws.spec;
  if (!ws.spec) typeSel.value = opts.type && TYPES.includes(opts.type) ? opts.type : 'socket_filter';
  if (src.kind === 'asm' && editor.value !== src.text) setEditor(src.text, false);
  app.runner = new Runner(ws, currentEngine);
  if (app.runner.loadError) out(`collection: ${app.runner.loadError}`);
  selectProgram();
  setupLife();
}

function selectProgram(): void {
  const ws = app.ws;
  if (!ws) return;
  app.trace = undefined;
  app.step = 0;
  try {
    app.view = openView(ws);
  } catch (e) {
    app.view = undefined;
    showError(e);
    clearVerification();
    return;
  }
  const v = app.view;
  if (ws.spec) {
    typeSel.innerHTML = [...new Set([...TYPES, v.progType])].map((t) => `<option>${t}</option>`).join('');
    typeSel.value = v.progType;
  }
  if (ws.source.kind !== 'asm')
    setEditor(
      `; ${ws.source.name}: ${v.name} (${v.progType}), disassembled\n${disassemble(v.insns, { labels: true, helperNames: true })}`,
      true,
    );
  $('insn-count').textContent = `${v.insns.length} slots`;
  renderListing(listing, v);
  verifyNow();
  renderStepView();
  refreshMaps();
  saveHash();
}

function openView(ws: Workspace): ProgramView {
  return programViewFor(ws, progSel.value || ws.programs[0]!, typeSel.value);
}

async function loadObjectExample(id: string, opts: { prog?: string; type?: string } = {}): Promise<void> {
  const ex = OBJECTS.find((o) => o.id === id);
  if (!ex) throw new Error(`no example ${id}`);
  let bytes = objectCache.get(ex.url);
  if (!bytes) {
    status(`loading ${ex.file}…`);
    const r = await fetch(ex.url);
    if (!r.ok) throw new Error(`${ex.file}: HTTP ${r.status}`);
    bytes = new Uint8Array(await r.arrayBuffer());
    objectCache.set(ex.url, bytes);
    status('');
  }
  app.galleryId = id;
  load({ kind: 'object', name: ex.file, bytes }, opts);
}

/** After the first paint: fetch every example object once, so the gallery works offline. */
function prefetchObjects(): void {
  for (const ex of OBJECTS) {
    if (objectCache.has(ex.url)) continue;
    fetch(ex.url)
      .then((r) => (r.ok ? r.arrayBuffer() : undefined))
      .then((b) => b && objectCache.set(ex.url, new Uint8Array(b)))
      .catch(() => {});
  }
}

function loadSnippet(id: string): void {
  const s = SNIPPETS.find((x) => x.id === id)!;
  app.galleryId = `asm:${id}`;
  load({ kind: 'asm', name: `${id}.s`, text: s.text }, { type: s.type });
}

function onGallery(value: string): void {
  if (value.startsWith('asm:')) loadSnippet(value.slice(4));
  else loadObjectExample(value).catch(showError);
}

const gallery = $<HTMLSelectElement>('gallery');
gallery.innerHTML =
  `<optgroup label="assembly">${SNIPPETS.map((s) => `<option value="asm:${s.id}">${s.title}</option>`).join('')}</optgroup>` +
  `<optgroup label="examples/*.bpf.o">${OBJECTS.map((o) => `<option value="${o.id}">${o.id} (${o.file})</option>`).join('')}</optgroup>`;
gallery.addEventListener('change', () => onGallery(gallery.value));

async function openFile(f: File): Promise<void> {
  const bytes = new Uint8Array(await f.arrayBuffer());
  app.galleryId = undefined;
  load(sourceFromFile(f.name, bytes));
}
$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) openFile(f).catch(showError);
});
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  const f = e.dataTransfer?.files[0];
  if (f) openFile(f).catch(showError);
});

progSel.addEventListener('change', () => {
  selectProgram();
});
typeSel.addEventListener('change', () => {
  if (!app.ws?.spec) selectProgram();
});

// ---- verify ----

let worker: Worker | undefined;
let verifySeq = 0;
let verifying = false;
let verifyTicker: ReturnType<typeof setInterval> | undefined;

function verifyDone(): void {
  verifying = false;
  clearInterval(verifyTicker);
  $<HTMLButtonElement>('verify-stop').disabled = true;
}

function onVerified(e: MessageEvent<VerifyReply>): void {
  if (e.data.id !== verifySeq) return;
  verifyDone();
  if ('error' in e.data) {
    // Only tsbpf's own bugs get here (InternalError); show them rather than hide the panel.
    $('verdict').textContent = 'verifier error';
    showError(e.data.error);
    return;
  }
  app.verification = e.data.result;
  renderVerification(app.verification);
  renderKernelVerdict(app.verification);
  if (performance.getEntriesByName('tsbpf-first-verdict').length === 0)
    performance.mark('tsbpf-first-verdict');
  const err = app.verification.error;
  markInsn(listing, err?.insnIdx, 'bad');
  selectInsn(err ? err.insnIdx : 0);
}

/** Verifies in a worker; a new request (or Stop) abandons the one in flight. */
function verifyNow(): void {
  if (!app.view) return;
  if (verifying) stopVerify();
  worker ??= new Worker(new URL('./verify-worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = onVerified;
  const id = ++verifySeq;
  verifying = true;
  app.verification = undefined;
  const verdict = $('verdict');
  verdict.className = '';
  verdict.textContent = 'verifying…';
  $('explain').innerHTML = '';
  $('stats').innerHTML = '';
  $('log').innerHTML = '';
  $<HTMLButtonElement>('verify-stop').disabled = false;
  const t0 = performance.now();
  verifyTicker = setInterval(() => {
    verdict.textContent = `verifying… ${((performance.now() - t0) / 1000).toFixed(0)} s`;
  }, 1000);
  $('kernel-verdict').textContent = '';
  const req: VerifyRequest = { id, view: app.view, kernel: kernelSel.value };
  worker.postMessage(req);
}

/** Nothing to verify (the input did not load): no stale verdict, listing or trace. */
function clearVerification(): void {
  if (verifying) stopVerify();
  app.verification = undefined;
  for (const id of ['verdict', 'explain', 'stats', 'log', 'listing', 'states', 'insn-count'])
    $(id).innerHTML = '';
  renderStepView();
}

function stopVerify(): void {
  worker?.terminate();
  worker = undefined;
  verifyDone();
  $('verdict').textContent = 'stopped';
}
$('verify-stop').addEventListener('click', stopVerify);

function selectInsn(idx: number): void {
  markInsn(listing, idx, 'sel');
  renderStates(app.verification, idx);
}

$('verify').addEventListener('click', verifyNow);

// ---- kernel release ----

kernelSel.addEventListener('change', verifyNow);

/** "Linux 5.15: rejected: invalid func unknown#181 (insn 7)": the release's verdict and first reason. */
function renderKernelVerdict(v: Verification): void {
  const e = v.error;
  const reason = e ? `: ${e.message} (insn ${e.insnIdx})` : '';
  const out = $('kernel-verdict');
  out.textContent = `Linux ${kernelSel.value}: ${v.verdict === 'accept' ? 'loads' : 'rejected'}${reason}`;
  out.className = v.verdict;
}
$('log').addEventListener('click', (e) => {
  const row = (e.target as HTMLElement).closest<HTMLElement>('[data-insn]');
  if (!row) return;
  $('log')
    .querySelectorAll('.sel')
    .forEach((old) => {
      old.classList.remove('sel');
    });
  row.classList.add('sel');
  selectInsn(Number(row.dataset.insn));
});
listing.addEventListener('click', (e) => {
  const row = (e.target as HTMLElement).closest<HTMLElement>('[data-insn]');
  if (row) selectInsn(Number(row.dataset.insn));
});

// ---- run ----

let currentEngine: 'interp' | 'jit' = 'interp';
engineSel.insertAdjacentHTML('beforeend', '<option value="jit">WebAssembly JIT</option>');
engineSel.addEventListener('change', () => {
  currentEngine = engineSel.value === 'jit' ? 'jit' : 'interp';
  engineSel.dataset.loaded = currentEngine;
  if (!app.ws) return;
  // A new collection for objects: its maps start again from the object's initial values.
  app.runner?.close();
  app.runner = new Runner(app.ws, currentEngine);
  if (app.ws.spec) out(`engine: ${currentEngine}; maps reset to the object's initial values`);
  setupLife();
  refreshMaps();
});

const packetSel = $<HTMLSelectElement>('packets');
packetSel.innerHTML = PACKETS.map((p) => `<option value="${p.id}">${p.title}</option>`).join('');
packetSel.addEventListener('change', () => {
  packet.value = toHex(PACKETS.find((p) => p.id === packetSel.value)!.bytes);
  saveHash();
});
packet.value = toHex(PACKETS[0]!.bytes);
packet.addEventListener('change', saveHash);

function runNow(record: boolean): void {
  const v = app.view;
  const runner = app.runner;
  if (!v || !runner) return;
  let data: Uint8Array;
  try {
    data = parseHex(packet.value);
  } catch (e) {
    $('run-result').textContent = e instanceof Error ? e.message : String(e);
    return;
  }
  const type = app.ws?.spec ? v.progType : typeSel.value;
  const packetType = !['syscall', 'raw_tracepoint'].includes(type);
  const r = runner.run(v, { type, data: packetType ? data : undefined, record: record ? TRACE_LIMIT : 0 });
  const lines: string[] = [];
  if (r.error) lines.push(`fault: ${r.error}`);
  else {
    const action = type === 'xdp' ? ` (${XDP_ACTIONS[r.retval!] ?? '?'})` : '';
    lines.push(
      `retval: ${r.retval}${action}`,
      `r0: 0x${r.r0!.toString(16)}`,
      `instructions executed: ${r.insns}`,
    );
    if (r.dataOut?.length)
      lines.push(
        `data_out: ${r.dataOut.length} bytes${sameBytes(r.dataOut, data) ? ' (unchanged)' : ' (modified)'}`,
      );
  }
  lines.push(`time: ${r.ms.toFixed(2)} ms`);
  if (app.verification?.verdict === 'reject')
    lines.push('note: the verifier rejected this program; the kernel would not load it (run here anyway)');
  $('run-result').textContent = lines.join('\n');
  for (const l of r.printk) out(`trace: ${l}`);
  drainRingbufs();
  refreshMaps();
  if (record) {
    app.trace = r;
    app.step = 0;
    if (r.truncated) out(`step trace: first ${TRACE_LIMIT} instructions recorded`);
    if (r.note) out(`step trace: ${r.note}`);
  }
  renderStepView();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function drainRingbufs(): void {
  for (const m of app.runner?.maps.values() ?? []) {
    if (!(m instanceof RingbufMap) || (app.life && m.name === 'generations')) continue;
    for (const rec of m.consume(64)) out(`ringbuf ${m.name}: ${toHex(rec).replace(/\n/g, ' ')}`);
  }
}

function renderStepView(): void {
  const t = app.trace;
  const steps = t?.steps ?? [];
  $<HTMLButtonElement>('step-prev').disabled = app.step <= 0;
  $<HTMLButtonElement>('step-next').disabled = app.step >= steps.length - 1;
  const slider = $<HTMLInputElement>('step-slider');
  slider.max = String(Math.max(0, steps.length - 1));
  slider.value = String(app.step);
  slider.disabled = steps.length < 2;
  $('step-pos').textContent = steps.length
    ? `step ${app.step + 1} / ${steps.length}${t?.truncated ? '+' : ''}`
    : '';
  renderStep(steps[app.step], steps[app.step - 1], listing);
}

$('run').addEventListener('click', () => runNow(false));
$('record').addEventListener('click', () => runNow(true));
$('step-prev').addEventListener('click', () => {
  app.step = Math.max(0, app.step - 1);
  renderStepView();
});
// ← / → step through a recorded trace, unless the keys are for a text field.
document.addEventListener('keydown', (e) => {
  if (!app.trace || (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight')) return;
  const t = e.target as HTMLElement;
  if (t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && (t as HTMLInputElement).type !== 'range')) return;
  e.preventDefault();
  app.step = Math.max(0, Math.min(app.trace.steps.length - 1, app.step + (e.key === 'ArrowRight' ? 1 : -1)));
  renderStepView();
});
$('step-slider').addEventListener('input', (e) => {
  app.step = Number((e.target as HTMLInputElement).value);
  renderStepView();
});
$('step-next').addEventListener('click', () => {
  app.step = Math.min((app.trace?.steps.length ?? 1) - 1, app.step + 1);
  renderStepView();
});

// ---- maps and output ----

function refreshMaps(): void {
  renderMaps($('maps'), app.runner?.maps ?? new Map());
}
$('maps-refresh').addEventListener('click', refreshMaps);
$('maps').addEventListener('keydown', (e) => {
  const input = e.target as HTMLInputElement;
  if (e.key !== 'Enter' || !input.dataset.map) return;
  const map = app.runner?.maps.get(input.dataset.map);
  if (!map) return;
  try {
    let key: Uint8Array;
    let value: Uint8Array;
    if (input.dataset.key !== undefined) {
      key = parseHex(input.dataset.key);
      value = parseHex(input.value);
    } else {
      const row = input.closest('tr')!;
      key = parseHex(row.querySelector<HTMLInputElement>('[data-new-key]')!.value);
      value = parseHex(row.querySelector<HTMLInputElement>('[data-new-value]')!.value);
    }
    map.update(key, value);
    out(`map ${map.name}: updated ${toHex(key).replace(/\n/g, ' ')}`);
    refreshMaps();
  } catch (err) {
    out(`map ${map.name}: ${err instanceof Error ? err.message : String(err)}`);
  }
});
$('output-clear').addEventListener('click', () => {
  output.textContent = '';
});

// ---- life ----

function setupLife(): void {
  app.life?.halt();
  app.life = undefined;
  const coll = app.runner?.coll;
  const pane = $('life-pane');
  pane.hidden = !isLife(coll);
  if (!isLife(coll)) return;
  app.life = new LifeView(coll, $<HTMLCanvasElement>('life'), $('life-info'), out);
  app.life.draw();
}
const lifeAction = (f: (l: LifeView) => void) => () => {
  try {
    if (app.life) f(app.life);
    refreshMaps();
  } catch (e) {
    out(`life: ${errorText(e)}`);
  }
};
$('life-seed').addEventListener(
  'click',
  lifeAction((l) => l.seed()),
);
$('life-start').addEventListener(
  'click',
  lifeAction((l) => l.start()),
);
$('life-stop').addEventListener(
  'click',
  lifeAction((l) => l.stop()),
);
$('life-step').addEventListener(
  'click',
  lifeAction((l) => l.step()),
);

// ---- shareable state ----

function currentState(): SharedState {
  const st: SharedState = {};
  const src = app.ws?.source;
  if (!src) return st;
  if (app.galleryId && !app.galleryId.startsWith('asm:') && src.kind === 'object') st.ex = app.galleryId;
  else if (src.kind === 'asm') st.asm = src.text;
  else if (src.bytes.length <= MAX_SHARED_BYTES) st.bin = bytesToB64(src.bytes);
  st.name = src.name;
  if (app.view) st.prog = app.view.name;
  if (!app.ws?.spec) st.type = typeSel.value;
  st.pkt = packet.value.replace(/\s+/g, '');
  return st;
}

function saveHash(): void {
  history.replaceState(null, '', `#${encodeState(currentState())}`);
}

$('share').addEventListener('click', () => {
  saveHash();
  (navigator.clipboard as Clipboard | undefined)?.writeText(location.href).then(
    () => status('link copied'),
    () => status('link is in the address bar'),
  );
});

async function restore(st: SharedState | undefined): Promise<void> {
  if (st?.pkt) packet.value = toHex(parseHex(st.pkt));
  const opts = { ...(st?.prog ? { prog: st.prog } : {}), ...(st?.type ? { type: st.type } : {}) };
  if (st?.ex) {
    gallery.value = st.ex;
    return loadObjectExample(st.ex, opts);
  }
  if (st?.asm !== undefined) return load({ kind: 'asm', name: st.name ?? 'shared.s', text: st.asm }, opts);
  if (st?.bin) return load(sourceFromFile(st.name ?? 'shared.o', b64ToBytes(st.bin)), opts);
  gallery.value = `asm:${SNIPPETS[0]!.id}`;
  loadSnippet(SNIPPETS[0]!.id);
}

for (const t of TYPES) typeSel.insertAdjacentHTML('beforeend', `<option>${t}</option>`);
restore(decodeState(location.hash))
  .catch(showError)
  .finally(() => {
    // What the tests and the time-to-interactive measurement wait for.
    performance.mark('tsbpf-interactive');
    document.body.dataset.ready = '1';
    setTimeout(prefetchObjects, 0);
  });

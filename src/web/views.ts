// DOM rendering of the panels: instruction listing, verifier log and stats, registers and stack
// of a recorded step, map contents.
import { formatKernelInsn } from '../isa/disasm-kernel.ts';
import type { BpfMap } from '../maps/map.ts';
import { BPF_COMPLEXITY_LIMIT_INSNS } from '../verifier/index.ts';
import { toHex } from './packets.ts';
import { escapeHtml } from './highlight.ts';
import type { ProgramView, Step, Verification } from './session.ts';

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: #${id} is missing from index.html`);
  return el as T;
};

/** One row per slot (lddw's second slot too, as the kernel numbers them), source lines between. */
export function renderListing(el: HTMLElement, p: ProgramView): void {
  const lines = new Map<number, string>();
  for (const li of p.lineInfo)
    lines.set(li.insnIdx, `; ${li.lineText.trim()} @ ${li.fileName.split('/').pop()}:${li.line}`);
  const html: string[] = [];
  for (let i = 0; i < p.insns.length; i++) {
    const src = lines.get(i);
    if (src) html.push(`<div class="src" data-src="${i}">${escapeHtml(src)}</div>`);
    const prev = p.insns[i - 1];
    const text = prev && prev.code === 0x18 ? '(lddw second slot)' : formatKernelInsn(p.insns, i);
    html.push(`<div data-insn="${i}">${String(i).padStart(4)}: ${escapeHtml(text)}</div>`);
  }
  el.innerHTML = html.join('');
}

/** Marks instruction `idx` (class `cls`) in the listing and scrolls it into view. */
export function markInsn(el: HTMLElement, idx: number | undefined, cls: string): void {
  el.querySelectorAll(`.${cls}`).forEach((old) => {
    old.classList.remove(cls);
  });
  if (idx === undefined) return;
  const row = el.querySelector(`[data-insn="${idx}"]`);
  if (!row) return;
  row.classList.add(cls);
  // The source line the instruction came from, as the nearest line-info row above it.
  if (cls === 'sel') {
    let s = row.previousElementSibling;
    while (s && !s.classList.contains('src')) s = s.previousElementSibling;
    s?.classList.add(cls);
  }
  row.scrollIntoView({ block: 'nearest' });
}

export function renderVerification(v: Verification): void {
  const verdict = $('verdict');
  verdict.textContent = v.verdict === 'accept' ? 'accepted' : 'rejected';
  verdict.className = v.verdict;
  const e = v.error;
  $('explain').innerHTML = e
    ? `<div class="error">insn ${e.insnIdx}: ${escapeHtml(e.message)}</div>` +
      (e.line
        ? `<div>at <code>${escapeHtml(`${e.line.file}:${e.line.line}`)}</code>: <code>${escapeHtml(e.line.text)}</code></div>`
        : '') +
      `<div class="hint"><b>${escapeHtml(e.principle)}</b>: ${escapeHtml(e.hint)}</div>`
    : '';
  const s = v.stats;
  const pct = ((s.insnsProcessed / BPF_COMPLEXITY_LIMIT_INSNS) * 100).toFixed(3);
  $('stats').innerHTML = `<table>
    <tr><td>processed instructions</td><td id="processed">${s.insnsProcessed.toLocaleString('en')}</td><td>of ${BPF_COMPLEXITY_LIMIT_INSNS.toLocaleString('en')} (${pct} %)</td></tr>
    <tr><td>states (total / peak)</td><td>${s.totalStates} / ${s.peakStates}</td><td>max ${s.maxStatesPerInsn} per instruction</td></tr>
    <tr><td>stack depth</td><td>${s.stackDepth.join('+')}</td><td>of 512 bytes</td></tr>
    <tr><td>verify time</td><td>${v.ms.toFixed(1)} ms</td><td></td></tr></table>`;
  const errAt = v.verdict === 'reject' ? v.log.length - 2 : -1;
  const rows = v.log.map((line, i) => {
    const idx = v.logInsn[i];
    const attr = idx === undefined ? '' : ` data-insn="${idx}"`;
    const cls = i === errAt || (e && line === e.message) ? ' class="err"' : '';
    return `<div${attr}${cls}>${escapeHtml(line) || ' '}</div>`;
  });
  $('log').innerHTML = rows.join('');
}

export function renderStates(v: Verification | undefined, idx: number): void {
  $('state-insn').textContent = String(idx);
  let list = v?.states.get(idx) ?? [];
  // The log prints an instruction's effect after it: what the previous one left is what this
  // one saw, when the path fell through (the kernel prints only registers that changed).
  const prev = (v?.states.get(idx - 1) ?? []).filter((s) => s.startsWith('after:'));
  if (prev.length)
    list = [...list, ...prev.map((s) => s.replace(/^after:/, `after ${idx - 1} (falls through):`))];
  $('states').innerHTML = list.length
    ? list.map((s) => `<div>${escapeHtml(s)}</div>`).join('')
    : '<div>no state recorded here (not reached, or pruned)</div>';
}

const hex64 = (v: bigint): string => `0x${v.toString(16)}`;

/** Registers before `step` runs, the ones that differ from `prev` marked. */
export function renderStep(step: Step | undefined, prev: Step | undefined, listing: HTMLElement): void {
  if (!step) {
    $('regs').innerHTML = '';
    $('stack').innerHTML = '';
    markInsn(listing, undefined, 'pc');
    return;
  }
  const rows = step.regs.map((v, i) => {
    const changed = prev !== undefined && prev.regs[i] !== v;
    const signed = BigInt.asIntN(64, v);
    return `<tr data-reg="r${i}"${changed ? ' class="changed"' : ''}><td>r${i}</td><td>${hex64(v)}</td><td>${signed}</td></tr>`;
  });
  $('regs').innerHTML =
    `<div>before insn ${step.pc} of ${escapeHtml(step.prog)}, call depth ${step.depth}</div><table>${rows.join('')}</table>`;
  const lines: string[] = [];
  for (let off = 0; off < step.stack.length; off += 16) {
    const chunk = step.stack.subarray(off, off + 16);
    if (chunk.every((b) => b === 0)) continue;
    lines.push(`fp-${step.stack.length - off}: ${toHex(chunk)}`);
  }
  $('stack').innerHTML =
    `<h3>stack frame (non-zero rows)</h3><pre>${lines.length ? escapeHtml(lines.join('\n')) : '(all zero)'}</pre>`;
  markInsn(listing, step.pc, 'pc');
}

const MAX_ROWS = 128;
const MAX_SCAN = 4096;
const ARRAY_LIKE = new Set(['array', 'percpu_array', 'cgroup_array']);
const NO_ENTRIES = new Set([
  'ringbuf',
  'user_ringbuf',
  'perf_event_array',
  'prog_array',
  'queue',
  'stack',
  'bloom_filter',
]);

function keyBytes(i: number, size: number): Uint8Array {
  const k = new Uint8Array(size);
  new DataView(k.buffer).setUint32(0, i, true);
  return k;
}

function entries(m: BpfMap): { rows: [Uint8Array, Uint8Array][]; note: string } {
  const rows: [Uint8Array, Uint8Array][] = [];
  if (NO_ENTRIES.has(m.typeName)) return { rows, note: 'no key/value entries to list' };
  if (ARRAY_LIKE.has(m.typeName)) {
    const n = Math.min(m.maxEntries, MAX_SCAN);
    for (let i = 0; i < n && rows.length < MAX_ROWS; i++) {
      const k = keyBytes(i, m.keySize);
      const v = m.lookup(k);
      if (v instanceof Uint8Array && v.some((b) => b !== 0)) rows.push([k, v]);
    }
    const more = m.maxEntries > n ? `, first ${n} of ${m.maxEntries} scanned` : '';
    return { rows, note: `non-zero elements${more}` };
  }
  let k: Uint8Array | undefined;
  try {
    for (k = m.nextKey(); k && rows.length < MAX_ROWS; k = m.nextKey(k)) {
      const v = m.lookup(k);
      if (v instanceof Uint8Array) rows.push([k, v]);
    }
  } catch {
    // A map type without key iteration: show what was found.
  }
  return { rows, note: rows.length === MAX_ROWS ? `first ${MAX_ROWS} entries` : 'all entries' };
}

/** Map contents with editable values; `onEdit` gets (map, key, new value hex). */
export function renderMaps(el: HTMLElement, maps: Map<string, BpfMap>): void {
  if (maps.size === 0) {
    el.innerHTML = '<p>No maps (assembly programs have none; load an object).</p>';
    return;
  }
  const html: string[] = [];
  for (const m of maps.values()) {
    const { rows, note } = entries(m);
    html.push(
      `<h3>${escapeHtml(m.name)} <small>${m.typeName}, key ${m.keySize} B, value ${m.valueSize} B, max ${m.maxEntries} — ${note}</small></h3>`,
    );
    if (NO_ENTRIES.has(m.typeName)) continue;
    const body = rows.map(
      ([k, v]) =>
        `<tr><td>${toHex(k)}</td><td><input data-map="${escapeHtml(m.name)}" data-key="${toHex(k)}" value="${toHex(v).replace(/\n/g, ' ')}" aria-label="value"></td></tr>`,
    );
    body.push(
      `<tr><td><input data-map="${escapeHtml(m.name)}" data-new-key placeholder="new key (${m.keySize} bytes hex)"></td><td><input data-map="${escapeHtml(m.name)}" data-new-value placeholder="value (${m.valueSize} bytes hex), Enter to update"></td></tr>`,
    );
    html.push(`<table><tr><th>key</th><th>value</th></tr>${body.join('')}</table>`);
  }
  el.innerHTML = html.join('');
}

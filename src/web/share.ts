// Shareable state: the program and its inputs, as base64url JSON in the URL's hash.

export interface SharedState {
  /** Gallery object id (examples/<id>). */
  ex?: string;
  /** Assembly text. */
  asm?: string;
  /** A dropped object or raw program, base64 (only when small). */
  bin?: string;
  name?: string;
  prog?: string;
  type?: string;
  /** Packet, hex. */
  pkt?: string;
}

/** Objects bigger than this are not put in the URL (browsers cut long URLs). */
export const MAX_SHARED_BYTES = 48 * 1024;

export function bytesToB64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

export function b64ToBytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function encodeState(st: SharedState): string {
  const json = new TextEncoder().encode(JSON.stringify(st));
  return bytesToB64(json).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The state in a hash, or undefined when it is missing or not ours. */
export function decodeState(hash: string): SharedState | undefined {
  const h = hash.replace(/^#/, '');
  if (!h) return undefined;
  try {
    const bytes = b64ToBytes(h.replace(/-/g, '+').replace(/_/g, '/'));
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const out: SharedState = {};
    for (const k of ['ex', 'asm', 'bin', 'name', 'prog', 'type', 'pkt'] as const) {
      const x = (v as Record<string, unknown>)[k];
      if (typeof x === 'string') out[k] = x;
    }
    return out;
  } catch {
    return undefined;
  }
}

// Syntax colouring for eBPF assembly (both dialects tsbpf assembles): HTML for the editor's
// overlay, one span per token; everything else is escaped text.
const TOKEN =
  /(;.*|\/\/.*|#.*)|(\b(?:[rw](?:10|[0-9])|%r(?:10|[0-9]))\b)|(\b(?:exit|call|goto|if|lock|ll|callx|may_goto|be16|be32|be64|le16|le32|le64|bswap16|bswap32|bswap64)\b)|(\b(?:u8|u16|u32|u64|s8|s16|s32|s64)\b)|(^\s*[A-Za-z_.$][\w.$]*:)|(-?\b(?:0x[0-9a-fA-F]+|\d+)\b)|(\bbpf_\w+)/gm;

const CLASSES = ['c', 'r', 'k', 't', 'l', 'n', 'h'];

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

export function highlightAsm(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index;
    out += escapeHtml(text.slice(last, at));
    const group = m.findIndex((g, i) => i > 0 && g !== undefined);
    out += `<span class="tk-${CLASSES[group - 1]}">${escapeHtml(m[0])}</span>`;
    last = at + m[0].length;
  }
  // A trailing newline needs a character after it, or the overlay is one line short.
  return `${out}${escapeHtml(text.slice(last))}\n`;
}

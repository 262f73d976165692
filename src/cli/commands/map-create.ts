// tsbpf map create: a new, empty pinned map, in bpftool's syntax
// (`bpftool map create FILE type TYPE key N value N entries N name NAME [flags N]`).
import { InputError, UsageError } from '../../errors.ts';
import { createMap, MapError } from '../../maps/index.ts';
import { Arena } from '../../vm/arena.ts';
import { flag, parseCommandArgs } from '../args.ts';
import type { Command } from '../command.ts';
import { BPFFS_OPTION, bpffsDir, pinPath, writePin } from '../pins.ts';

const WORDS = ['type', 'key', 'value', 'entries', 'name', 'flags'] as const;
type Word = (typeof WORDS)[number];

function number(word: Word, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff)
    throw new UsageError(`${word} ${text}: expected an unsigned 32-bit number`);
  return n;
}

export const mapCreateCommand: Command = {
  name: 'map create',
  summary: 'Create an empty map and pin it (bpftool map create)',
  usage: `map create PATH type TYPE key KEY_SIZE value VALUE_SIZE entries MAX_ENTRIES [name NAME] [flags FLAGS] [--bpffs DIR] [--json]

  PATH     where to pin, relative to the bpffs directory (--bpffs DIR, $TSBPF_BPFFS, or
           ./.tsbpf/bpffs) unless absolute; an existing file is replaced only if it is a tsbpf pin
  TYPE     hash, array, percpu_hash, percpu_array, lru_hash, lru_percpu_hash, lpm_trie, ...
  --json   {"pinned", "type", "key_size", "value_size", "max_entries"}`,
  run(argv, io) {
    const p = parseCommandArgs('map create', argv, { json: { type: 'boolean' }, ...BPFFS_OPTION });
    const [target, ...rest] = p.positionals;
    if (target === undefined) throw new UsageError('expected PATH type TYPE key N value N entries N');
    const got = new Map<Word, string>();
    for (let i = 0; i < rest.length; i += 2) {
      const word = rest[i] as Word;
      if (!WORDS.includes(word))
        throw new UsageError(`unexpected '${rest[i]}' (expected ${WORDS.join(', ')})`);
      if (rest[i + 1] === undefined) throw new UsageError(`${word}: missing its value`);
      got.set(word, rest[i + 1]!);
    }
    for (const w of ['type', 'key', 'value', 'entries'] as const)
      if (!got.has(w)) throw new UsageError(`missing '${w}'`);
    const dest = pinPath(bpffsDir(p), target);
    const spec = {
      type: got.get('type')!,
      keySize: number('key', got.get('key')!),
      valueSize: number('value', got.get('value')!),
      maxEntries: number('entries', got.get('entries')!),
      flags: got.has('flags') ? number('flags', got.get('flags')!) : 0,
      name: got.get('name') ?? target.replace(/.*\//, ''),
    };
    let map: ReturnType<typeof createMap>;
    try {
      map = createMap(new Arena(), spec);
    } catch (e) {
      // the kernel's answer to BPF_MAP_CREATE with these attributes (EINVAL, E2BIG...)
      if (e instanceof MapError) throw new InputError('MAP', `map create ${target}: ${e.message}`);
      throw e;
    }
    try {
      writePin(dest, map);
    } finally {
      map.close();
    }
    io.out(
      flag(p, 'json')
        ? JSON.stringify({
            pinned: dest,
            type: map.typeName,
            key_size: spec.keySize,
            value_size: spec.valueSize,
            max_entries: spec.maxEntries,
          })
        : `created ${map.typeName} map ${spec.name} pinned at ${dest}`,
    );
    return 0;
  },
};

// The gallery's objects: the repository's examples/*/*.bpf.o, built into the site as separate
// assets (fetched on demand; prefetched once the page is up).

/** examples/<dir>/<name>.bpf.o → its URL in the built site. */
const objectUrls = import.meta.glob<string>('../../examples/*/*.bpf.o', {
  eager: true,
  query: '?url',
  import: 'default',
});

export interface ObjectExample {
  id: string;
  file: string;
  url: string;
}

export const OBJECTS: ObjectExample[] = Object.entries(objectUrls)
  .map(([path, url]) => {
    const file = path.split('/').pop()!;
    return { id: path.split('/').at(-2)!, file, url };
  })
  .sort((a, b) => a.id.localeCompare(b.id));

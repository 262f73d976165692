// The browser playground (src/web): `npm run web` serves it, `npm run build:web` writes dist/web.
// The app imports the same src/ modules the CLI uses; example objects come in as hashed assets.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repo = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: 'src/web',
  // Relative asset URLs, so the built site works from any directory (or a file server's subpath).
  base: './',
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    // Example objects stay separate files, fetched on demand (and prefetched once the page is up).
    assetsInlineLimit: 0,
  },
  // The dev server must read examples/*.o and src/, outside its root.
  server: { fs: { allow: [repo] } },
});

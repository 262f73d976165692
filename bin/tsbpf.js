#!/usr/bin/env node
// Entry point for `npx tsbpf`: registers tsx so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

// `tsbpf ... | head` closes the pipe early: that is not an error, so leave quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

import type { Command } from '../command.ts';
import { asmCommand } from './asm.ts';
import { disasmCommand } from './disasm.ts';

/** Every CLI command, in the order `tsbpf --help` lists them. */
export const commands: Command[] = [asmCommand, disasmCommand];

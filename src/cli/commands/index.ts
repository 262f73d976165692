import type { Command } from '../command.ts';
import { asmCommand } from './asm.ts';
import { attachCommand } from './attach.ts';
import { mapDumpCommand, mapShowCommand } from './map.ts';
import { mapCreateCommand } from './map-create.ts';
import {
  mapDeleteCommand,
  mapGetnextCommand,
  mapLookupCommand,
  mapPinCommand,
  mapUpdateCommand,
} from './map-elem.ts';
import { btfDumpCommand } from './btf.ts';
import { disasmCommand } from './disasm.ts';
import { objLinkCommand, objShowCommand } from './obj.ts';
import { lifeCommand } from './life.ts';
import { runCommand } from './run.ts';
import { verifyCommand } from './verify.ts';
import { iterCommand } from './iter.ts';

/** Every CLI command, in the order `tsbpf --help` lists them. */
export const commands: Command[] = [
  asmCommand,
  disasmCommand,
  runCommand,
  verifyCommand,
  objShowCommand,
  objLinkCommand,
  btfDumpCommand,
  lifeCommand,
  iterCommand,
  attachCommand,
  mapShowCommand,
  mapDumpCommand,
  mapLookupCommand,
  mapUpdateCommand,
  mapDeleteCommand,
  mapGetnextCommand,
  mapPinCommand,
  mapCreateCommand,
];

// The call libbpf writes over an instruction whose CO-RE relocation did not resolve
// (libbpf: bpf_core_poison_insn, "bad relo" helper id 0xbad2310). The kernel's verifier rejects
// it only where it is reachable, so a loaded program may hold it in dead code; registering it
// keeps load-time helper checks quiet, and actually running it is a clear fault.
import { POISON_HELPER } from '../../btf/core.ts';
import { RuntimeFault } from '../../errors.ts';
import type { HelperTable } from '../../vm/helpers.ts';

export function registerCorePoison(t: HelperTable): void {
  t.register({
    id: POISON_HELPER,
    name: 'bpf_core_poison',
    proto: { ret: 'RET_INTEGER', args: [] },
    impl: () => {
      throw new RuntimeFault(
        'core',
        'ran an instruction poisoned by a CO-RE relocation that did not resolve against the target BTF',
      );
    },
  });
}

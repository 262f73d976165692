// Maps whose contents are not elements: programs and user space cannot look up, update, delete
// or iterate keys (kernel: the ring buffers' map_*_elem ops return -ENOTSUPP, lookup NULL).
import { ENOTSUPP, MapError } from './errno.ts';
import { BpfMap } from './map.ts';

export abstract class ElementlessMap extends BpfMap {
  /** What the map is, for the host lookup's error ("a ring buffer"). */
  protected abstract readonly kindName: string;

  protected lookupElem(): number {
    return 0;
  }
  protected updateElem(): number {
    return -ENOTSUPP;
  }
  protected deleteElem(): number {
    return -ENOTSUPP;
  }
  protected getNextKey(): number {
    return -ENOTSUPP;
  }
  protected override hostLookup(): Uint8Array | undefined {
    throw new MapError(ENOTSUPP, `map ${this.name}: ${this.kindName} has no elements to look up`);
  }
}

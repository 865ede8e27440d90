/**
 * The indexes the agent serves, read live from the caller's map on every
 * request: an index added or removed there, or closed, shows at once.
 * Names are the map's keys.
 *
 * @module
 */
import type { ManagedIndex } from "./managed_index.ts";
import { AgentError } from "./_errors.ts";

export class IndexDirectory {
  #indexes: ReadonlyMap<string, ManagedIndex>;

  constructor(indexes: ReadonlyMap<string, ManagedIndex>) {
    this.#indexes = indexes;
  }

  /** Every index that is not CLOSED, by name. */
  open(): [string, ManagedIndex][] {
    return [...this.#indexes].filter(([, index]) => index.state !== "CLOSED")
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  }

  /** The open index `name`; INDEX_NOT_FOUND if there is none. */
  get(name: string): ManagedIndex {
    const index = this.#indexes.get(name);
    if (index === undefined || index.state === "CLOSED") {
      throw new AgentError("INDEX_NOT_FOUND", `Unknown index: '${name}'`);
    }
    return index;
  }

  /**
   * The targets of an action: index `name`, or every open index when it is
   * undefined. INDEX_NOT_FOUND for an unknown name; INVALID_STATE when there
   * is no index or one of the targets is not READY (then nothing runs).
   */
  targets(name: string | undefined): [string, ManagedIndex][] {
    const targets: [string, ManagedIndex][] = name === undefined ? this.open() : [[name, this.get(name)]];
    if (targets.length === 0) throw new AgentError("INVALID_STATE", "No index is open");
    const busy = targets.filter(([, index]) => index.state !== "READY");
    if (busy.length > 0) {
      const states = busy.map(([n, index]) => `'${n}' is ${index.state}`).join(", ");
      throw new AgentError("INVALID_STATE", `Every target must be READY: ${states}`);
    }
    return targets;
  }
}

/**
 * Cancels a group of requests at once (when the console shuts down) with one
 * AbortController per request. Sharing one signal among all of them would
 * hang a listener per request on it, which Node reports as a leak past ten.
 *
 * @module
 */

/** Requests that `abortAll()` cancels, including those started after it. */
export class AbortGroup {
  readonly #controllers = new Set<AbortController>();
  #aborted = false;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Runs `task` with a signal of its own that `abortAll()` aborts. */
  async run<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    if (this.#aborted) controller.abort();
    this.#controllers.add(controller);
    try {
      return await task(controller.signal);
    } finally {
      this.#controllers.delete(controller);
    }
  }

  abortAll(): void {
    this.#aborted = true;
    for (const controller of this.#controllers) controller.abort();
  }
}

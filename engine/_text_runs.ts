/**
 * String keys and values of a scan decoded a chunk at a time. Decoding each
 * value with `TextDecoder` costs a native call per value — 130 ns on Deno
 * 2.9 (an op call; 307–376 ns when it validates), 90–100 ns on Node 20, a
 * large share of a scan's time per entry. A chunk's payload that is all
 * ASCII (its varints, key suffixes and values) decodes in one call instead,
 * and each value is then a substring of that text at the value's position;
 * likewise a chunk's keys, which the scan rebuilds back to back in one
 * buffer.
 *
 * Such substrings share the chunk's text until they are dropped (V8 makes a
 * slice of a string of 13 or more units), so a value kept from a scan can
 * keep up to its chunk's payload alive; hence the size cap on a run.
 *
 * @module
 */

/** Longest payload decoded as a run; a larger one (an unusual `chunkByteTarget`) decodes per value. */
const MAX_RUN_BYTES = 64 * 1024;
/** Runs remembered at once: one per table cursor of a merge, for the usual few sources. */
const MAX_RUNS = 8;

/**
 * Not fatal: Deno 2.9's fatal decoding validates at about a seventh of the
 * replacing decoder's speed (2.2 against 0.3 µs per 3.5 KiB); see `asciiText`
 * for why replacing is as exact here.
 */
const DECODER = new TextDecoder("utf-8", { ignoreBOM: true });

/** One chunk payload of a read buffer: `[start, end)` of `buffer`; its text once decoded. */
interface Run {
  buffer: ArrayBufferLike;
  start: number;
  end: number;
  /** `undefined` until first needed; `null` when the payload is not all ASCII. */
  text: string | null | undefined;
}

/** The runs of a scan's keys and of its values, for those of the two that are strings. */
export interface ScanRuns {
  keys?: TextRuns;
  values?: TextRuns;
}

/** Decodes values through the runs their chunks registered, falling back to `decode` per value. */
export class TextRuns {
  readonly #decode: (bytes: Uint8Array) => string;
  readonly #runs: Run[] = [];
  /** Where the next registered run goes, round robin. */
  #next = 0;
  /** The run the last value came from, tried first. */
  #last = 0;

  /** @param decode The value type's decoder, for values outside every ASCII run. */
  constructor(decode: (bytes: Uint8Array) => string) {
    this.#decode = decode;
  }

  /** A chunk payload, `bytes[start, end)`, whose values may be decoded next. */
  register(bytes: Uint8Array, start: number, end: number): void {
    if (end - start > MAX_RUN_BYTES) return;
    const run: Run = {
      buffer: bytes.buffer,
      start: bytes.byteOffset + start,
      end: bytes.byteOffset + end,
      text: undefined,
    };
    if (this.#runs.length < MAX_RUNS) this.#runs.push(run);
    else this.#runs[this.#next] = run;
    this.#next = (this.#next + 1) % MAX_RUNS;
  }

  /** The string of `value`, a view into some read buffer (or any bytes). */
  decode(value: Uint8Array): string {
    const runs = this.#runs;
    const at = value.byteOffset, end = at + value.length;
    for (let i = 0, r = this.#last; i < runs.length; i++, r = r + 1 === runs.length ? 0 : r + 1) {
      const run = runs[r];
      if (run.buffer !== value.buffer || at < run.start || end > run.end) continue;
      this.#last = r;
      const text = run.text === undefined ? (run.text = asciiText(run)) : run.text;
      return text === null ? this.#decode(value) : text.substring(at - run.start, end - run.start);
    }
    return this.#decode(value);
  }
}

/**
 * The run's text if every byte of it is ASCII (one UTF-16 unit per byte), else `null`.
 * A byte of 0x80 or above either joins a multi-byte sequence, which decodes to
 * fewer units than bytes, or is invalid and decodes to U+FFFD (which, being
 * three bytes in UTF-8, cannot come from a byte of its own).
 */
function asciiText(run: Run): string | null {
  const length = run.end - run.start;
  const text = DECODER.decode(new Uint8Array(run.buffer, run.start, length));
  return text.length === length && !text.includes("\uFFFD") ? text : null;
}

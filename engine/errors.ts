/**
 * The engine's error family. Callers branch on the class; messages name the
 * file and offset where that helps an operator. Bad options and bad arguments
 * throw the built-in `TypeError` or `RangeError` instead.
 *
 * @module
 */

/** Base class of every error the engine raises on purpose. */
export class HestiaStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bytes on disk do not match what was written: bad checksum, bad magic, truncated or malformed data. */
export class CorruptionError extends HestiaStoreError {
  /** The file that holds the bad bytes. */
  readonly file: string;
  /** Byte offset in `file` where the bad data starts. */
  readonly offset: number;
  constructor(file: string, offset: number, reason: string, options?: ErrorOptions) {
    super(`Corrupt data in ${file} at offset ${offset}: ${reason}`, options);
    this.file = file;
    this.offset = offset;
  }
}

/**
 * A file carries a format version newer than this engine understands, or a
 * file kind it does not know. Refused instead of guessed.
 */
export class UnsupportedFormatError extends HestiaStoreError {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`Unsupported format in ${file}: ${reason}`);
    this.file = file;
  }
}

/** A path that must exist does not. */
export class NotFoundError extends HestiaStoreError {
  readonly path: string;
  constructor(path: string, options?: ErrorOptions) {
    super(`No such file or directory: ${path}`, options);
    this.path = path;
  }
}

/** A path that must not exist does. */
export class AlreadyExistsError extends HestiaStoreError {
  readonly path: string;
  constructor(path: string, options?: ErrorOptions) {
    super(`Already exists: ${path}`, options);
    this.path = path;
  }
}

/** Another opener, in this process or a live other one, holds the lock. */
export class LockedError extends HestiaStoreError {
  readonly path: string;
  constructor(path: string, holder: string) {
    super(`${path} is locked by ${holder}`);
    this.path = path;
  }
}

/** The file system failed an operation (disk full, permission, injected fault…). */
export class IoError extends HestiaStoreError {
  readonly path: string;
  readonly operation: string;
  constructor(operation: string, path: string, options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`${operation} failed on ${path}${cause}`, options);
    this.path = path;
    this.operation = operation;
  }
}

/** An object was used after `close()`. */
export class ClosedError extends HestiaStoreError {}

/** An operation needs a READY index, and the index is in another state (OPENING, CLOSING or ERROR). */
export class StateError extends HestiaStoreError {
  /** The state the index was in. */
  readonly state: string;
  constructor(message: string, state: string, options?: ErrorOptions) {
    super(message, options);
    this.state = state;
  }
}

/** An update was based on a revision that is no longer current. */
export class ConflictError extends HestiaStoreError {
  readonly expected: number;
  readonly actual: number;
  constructor(what: string, expected: number, actual: number) {
    super(`${what} is at revision ${actual}, not ${expected}; reload and retry`);
    this.expected = expected;
    this.actual = actual;
  }
}

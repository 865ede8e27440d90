/**
 * Local stand-in for `jsr:@std/assert`: the subset this project uses, with
 * std's names, signatures and semantics. JSR is unreachable from our build
 * machines; pointing the import map at `jsr:@std/assert@^1` replaces this file.
 *
 * @module
 */
import { inspect, isDeepStrictEqual } from "node:util";

/** Thrown by every assertion here, as std's `AssertionError`. */
export class AssertionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionError";
  }
}

function show(value: unknown): string {
  return inspect(value, { depth: 6, breakLength: 100, maxArrayLength: 50 });
}

function suffix(msg?: string): string {
  return msg ? `: ${msg}` : "";
}

/** Fails unless `expr` is truthy. */
export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg || "Expected expression to be truthy");
}

/** Fails unless `expr` is falsy. */
export function assertFalse(expr: unknown, msg = ""): void {
  if (expr) throw new AssertionError(msg || "Expected expression to be falsy");
}

/** Deep equality: same structure, same primitive values, same typed-array contents. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(
      `Values are not equal${suffix(msg)}\n    actual: ${show(actual)}\n  expected: ${show(expected)}`,
    );
  }
}

/** Fails if `actual` and `expected` are deeply equal. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(`Expected actual: ${show(actual)} not to be: ${show(expected)}${suffix(msg)}`);
  }
}

/** `Object.is` equality. */
export function assertStrictEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(
      `Values are not strictly equal${suffix(msg)}\n    actual: ${show(actual)}\n  expected: ${
        show(expected)
      }`,
    );
  }
}

/** Fails if `actual` is `null` or `undefined`. */
export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual === undefined || actual === null) {
    throw new AssertionError(msg || `Expected actual: "${actual}" to not be null or undefined.`);
  }
}

/** Fails unless `actual` is an instance of `expectedType`. */
// deno-lint-ignore no-explicit-any
export function assertInstanceOf<T extends abstract new (...args: any[]) => any>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  if (!(actual instanceof expectedType)) {
    throw new AssertionError(
      msg || `Expected object to be an instance of "${expectedType.name}" but was ${show(actual)}`,
    );
  }
}

/** Fails unless `actual` matches `expected`. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (!expected.test(actual)) {
    throw new AssertionError(`Expected actual: "${actual}" to match: "${expected}"${suffix(msg)}`);
  }
}

/** Fails if `actual` matches `expected`. */
export function assertNotMatch(actual: string, expected: RegExp, msg?: string): void {
  if (expected.test(actual)) {
    throw new AssertionError(`Expected actual: "${actual}" to not match: "${expected}"${suffix(msg)}`);
  }
}

/** Fails unless `actual` contains `expected`. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(`Expected actual: "${actual}" to contain: "${expected}"${suffix(msg)}`);
  }
}

/** Fails unless every element of `expected` is deeply equal to some element of `actual`. */
export function assertArrayIncludes<T>(actual: ArrayLike<T>, expected: ArrayLike<T>, msg?: string): void {
  const items = Array.from(actual);
  const missing = Array.from(expected).filter((e) => !items.some((a) => isDeepStrictEqual(a, e)));
  if (missing.length > 0) {
    throw new AssertionError(`Expected actual: ${show(actual)} to include: ${show(missing)}${suffix(msg)}`);
  }
}

function compare<T>(ok: boolean, actual: T, op: string, expected: T, msg?: string): void {
  if (!ok) throw new AssertionError(msg || `Expect ${show(actual)} ${op} ${show(expected)}`);
}

/** Fails unless `actual > expected`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  compare(actual > expected, actual, ">", expected, msg);
}

/** Fails unless `actual >= expected`. */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  compare(actual >= expected, actual, ">=", expected, msg);
}

/** Fails unless `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  compare(actual < expected, actual, "<", expected, msg);
}

/** Fails unless `actual <= expected`. */
export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  compare(actual <= expected, actual, "<=", expected, msg);
}

/** Fails unless `|actual - expected| <= tolerance`. */
export function assertAlmostEquals(actual: number, expected: number, tolerance = 1e-7, msg?: string): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new AssertionError(
      msg ||
        `Expected actual: "${actual}" to be close to "${expected}": delta "${
          Math.abs(actual - expected)
        }" is greater than "${tolerance}"`,
    );
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

function checkError<E extends Error>(
  error: unknown,
  ErrorClass: ErrorClass<E> | undefined,
  msgIncludes: string | undefined,
  msg: string | undefined,
): void {
  if (ErrorClass && !(error instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was "${
        (error as Error)?.constructor?.name ?? typeof error
      }": ${show(error)}${suffix(msg)}`,
      { cause: error },
    );
  }
  if (msgIncludes !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    if (!message.includes(msgIncludes)) {
      throw new AssertionError(
        `Expected error message to include "${msgIncludes}", but got "${message}"${suffix(msg)}`,
        { cause: error },
      );
    }
  }
}

/** Fails unless `fn` throws; returns what it threw. Optionally checks the class and message. */
export function assertThrows(fn: () => unknown, msg?: string): unknown;
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): E;
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  classOrMsg?: ErrorClass<E> | string,
  msgIncludes?: string,
  msg?: string,
): E | unknown {
  const ErrorClass = typeof classOrMsg === "function" ? classOrMsg : undefined;
  if (typeof classOrMsg === "string") msg = classOrMsg;
  try {
    fn();
  } catch (error) {
    checkError(error, ErrorClass, msgIncludes, msg);
    return error;
  }
  throw new AssertionError(`Expected function to throw${suffix(msg)}`);
}

/** Fails unless the promise from `fn` rejects; resolves to the rejection reason. */
export function assertRejects(fn: () => PromiseLike<unknown>, msg?: string): Promise<unknown>;
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): Promise<E>;
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  classOrMsg?: ErrorClass<E> | string,
  msgIncludes?: string,
  msg?: string,
): Promise<E | unknown> {
  const ErrorClass = typeof classOrMsg === "function" ? classOrMsg : undefined;
  if (typeof classOrMsg === "string") msg = classOrMsg;
  let result: PromiseLike<unknown>;
  try {
    result = fn();
  } catch (error) {
    throw new AssertionError(`Function throws when expected to reject${suffix(msg)}`, { cause: error });
  }
  try {
    await result;
  } catch (error) {
    checkError(error, ErrorClass, msgIncludes, msg);
    return error;
  }
  throw new AssertionError(`Expected function to reject${suffix(msg)}`);
}

/** Always fails. */
export function fail(msg?: string): never {
  throw new AssertionError(`Failed assertion${suffix(msg)}`);
}

/** Marks code that must not run. */
export function unreachable(msg?: string): never {
  throw new AssertionError(msg ?? "unreachable");
}

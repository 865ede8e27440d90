/**
 * The islands' calls to the console's own JSON endpoints. State-changing
 * calls carry the page's CSRF token in a header, which another site's page
 * cannot read or set.
 *
 * @module
 */
import type { ConsoleError } from "../views.ts";

/** Header that carries the CSRF token; the server checks it on every POST and PATCH. */
export const CSRF_HEADER = "X-CSRF-Token";

/** An answer of the console: its status, and its JSON body. */
export interface ApiAnswer<T> {
  status: number;
  ok: boolean;
  body: T;
  error: ConsoleError | null;
}

/** Calls a console endpoint; a network failure becomes status 0 with an error, never a throw. */
export async function api<T>(
  method: "GET" | "POST" | "PATCH",
  url: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") {
    headers["content-type"] = "application/json";
    headers[CSRF_HEADER] = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? "";
  }
  try {
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const json = await response.json().catch(() => null);
    const ok = response.ok;
    return {
      status: response.status,
      ok,
      body: json as T,
      error: ok ? null : errorOf(json, response.status),
    };
  } catch (e) {
    return {
      status: 0,
      ok: false,
      body: null as T,
      error: { code: "CONSOLE_UNREACHABLE", message: `The console did not answer: ${(e as Error).message}` },
    };
  }
}

function errorOf(json: unknown, status: number): ConsoleError {
  const e = json as Partial<ConsoleError> | null;
  if (e && typeof e.code === "string" && typeof e.message === "string") return e as ConsoleError;
  return { code: `HTTP_${status}`, message: `The console answered ${status}` };
}

/** True in the browser, false while the server renders. */
export const IS_BROWSER: boolean = typeof document !== "undefined";

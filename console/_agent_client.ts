/**
 * HTTP calls from the console to one agent. Every call has its own timeout,
 * and every way it can go wrong becomes a value — never a thrown error — so
 * one node's failure stays that node's row.
 *
 * @module
 */
import { ACTOR_HEADER, ErrorResponseSchema } from "../agent/api/mod.ts";
import type { NodeConfig } from "./config.ts";

/** The agent answered with an HTTP status (any status). */
export interface AgentAnswer {
  kind: "answer";
  status: number;
  /** The parsed JSON body; undefined when the body was not JSON. */
  body: unknown;
  /** Seconds from `Retry-After`, when the agent sent one. */
  retryAfterSeconds: number | null;
}

/** The agent did not answer: DOWN (refused, reset), TIMEOUT, or ERROR (anything else). */
export interface AgentUnreachable {
  kind: "unreachable";
  state: "DOWN" | "TIMEOUT" | "ERROR";
  reason: string;
}

export type AgentOutcome = AgentAnswer | AgentUnreachable;

/** One request to an agent. */
export interface AgentRequest {
  method: "GET" | "POST" | "PATCH";
  /** Path and query, e.g. `/api/v1/report`. */
  path: string;
  body?: unknown;
  /** The person the console acts for; the agent records it when the token is a console token. */
  actor?: string;
  timeoutMs: number;
  /** Aborts the request early (the console is shutting down). */
  signal?: AbortSignal;
}

/** Sends one request to `node` with its token, within `request.timeoutMs` (body read included). */
export async function callAgent(
  fetchFn: typeof fetch,
  node: NodeConfig,
  request: AgentRequest,
): Promise<AgentOutcome> {
  const headers = new Headers({ authorization: `Bearer ${node.token}`, accept: "application/json" });
  if (request.body !== undefined) headers.set("content-type", "application/json");
  if (request.actor !== undefined) headers.set(ACTOR_HEADER, request.actor);
  // One signal covers connecting, the headers and the body, so a node that stalls mid-body times out too.
  // Built by hand rather than with AbortSignal.any(), whose combined signal Node 20 may collect before it fires.
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`No answer within ${request.timeoutMs} ms`, "TimeoutError")),
    request.timeoutMs,
  );
  const stop = () => controller.abort(request.signal!.reason);
  if (request.signal?.aborted) stop();
  request.signal?.addEventListener("abort", stop, { once: true });
  try {
    const response = await fetchFn(`${node.baseUrl}${request.path}`, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: controller.signal,
      redirect: "manual",
    });
    const text = await response.text();
    return {
      kind: "answer",
      status: response.status,
      body: parseJson(text),
      retryAfterSeconds: parseRetryAfter(response.headers.get("retry-after")),
    };
  } catch (error) {
    return classifyFailure(error, request.timeoutMs);
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener("abort", stop);
  }
}

/** Maps a rejected fetch to a node state and a reason a person can act on. */
export function classifyFailure(error: unknown, timeoutMs: number): AgentUnreachable {
  const name = (error as { name?: string })?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return { kind: "unreachable", state: "TIMEOUT", reason: `No answer within ${timeoutMs} ms` };
  }
  // Node's fetch puts the socket error in `cause`; Deno's puts it in the message. Both are checked.
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const text = `${cause?.code ?? ""} ${cause?.message ?? ""} ${(error as Error)?.message ?? String(error)}`;
  if (/ECONNREFUSED|connection refused/i.test(text)) {
    return { kind: "unreachable", state: "DOWN", reason: "Connection refused" };
  }
  if (/ECONNRESET|EPIPE|connection reset|connection closed|other side closed|socket hang up/i.test(text)) {
    return { kind: "unreachable", state: "DOWN", reason: "Connection reset" };
  }
  if (/ENOTFOUND|EAI_AGAIN|dns error|name or service not known/i.test(text)) {
    return { kind: "unreachable", state: "ERROR", reason: "Host name not found" };
  }
  if (/certificate|tls|ssl/i.test(text)) {
    return { kind: "unreachable", state: "ERROR", reason: `TLS failure: ${oneLine(text)}` };
  }
  return { kind: "unreachable", state: "ERROR", reason: oneLine(text) };
}

/** The agent's `{code, message}` from an error answer, or a description of the status when the body has none. */
export function agentError(answer: AgentAnswer): { code: string; message: string } {
  const parsed = ErrorResponseSchema.safeParse(answer.body);
  if (parsed.success) return { code: parsed.data.code, message: parsed.data.message };
  return {
    code: `HTTP_${answer.status}`,
    message: `The agent answered ${answer.status} without an error body`,
  };
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseRetryAfter(value: string | null): number | null {
  if (value === null) return null;
  // The agent sends delta-seconds; the HTTP-date form is not used by it.
  const seconds = Number(value.trim());
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : null;
}

function oneLine(text: string): string {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > 200 ? `${line.slice(0, 197)}…` : line;
}

/**
 * The runtime configuration of an index, read and changed through its node's
 * agent. The agent validates; the console passes its answer on, problems
 * per key included, so the page can show each message at its field.
 *
 * @module
 */
import {
  CONFIG,
  ConfigPatchFailureSchema,
  type ConfigPatchRequest,
  type ConfigPatchResponse,
  ConfigPatchResponseSchema,
  type ConfigView,
  ConfigViewSchema,
} from "../agent/api/mod.ts";
import { type AgentOutcome, callAgent } from "./_agent_client.ts";
import type { NodeConfig } from "./config.ts";
import type { ConsoleError } from "./views.ts";

/** The agent's answer, or why there is none, with the status the console should answer with. */
export type ProxyResult<T> = { ok: true; value: T } | { ok: false; status: 502 | 504; error: ConsoleError };

/** `GET /api/v1/config?indexName=` on the node. */
export async function readConfig(
  fetchFn: typeof fetch,
  node: NodeConfig,
  indexName: string,
  timeoutMs: number,
): Promise<ProxyResult<ConfigView>> {
  const outcome = await callAgent(fetchFn, node, {
    method: "GET",
    path: `${CONFIG}?indexName=${encodeURIComponent(indexName)}`,
    timeoutMs,
  });
  if (outcome.kind === "answer" && outcome.status === 200) {
    const view = ConfigViewSchema.safeParse(outcome.body);
    if (view.success) return { ok: true, value: view.data };
  }
  return failure(outcome);
}

/** `PATCH /api/v1/config?indexName=` on the node, on behalf of `actor`. */
export async function patchConfig(
  fetchFn: typeof fetch,
  node: NodeConfig,
  indexName: string,
  patch: ConfigPatchRequest,
  actor: string,
  timeoutMs: number,
): Promise<ProxyResult<ConfigPatchResponse>> {
  const outcome = await callAgent(fetchFn, node, {
    method: "PATCH",
    path: `${CONFIG}?indexName=${encodeURIComponent(indexName)}`,
    body: patch,
    actor,
    timeoutMs,
  });
  if (outcome.kind === "answer" && outcome.status === 200) {
    const answer = ConfigPatchResponseSchema.safeParse(outcome.body);
    if (answer.success) return { ok: true, value: answer.data };
  }
  return failure(outcome);
}

function failure(outcome: AgentOutcome): { ok: false; status: 502 | 504; error: ConsoleError } {
  if (outcome.kind === "unreachable") {
    return {
      ok: false,
      status: outcome.state === "TIMEOUT" ? 504 : 502,
      error: { code: `NODE_${outcome.state}`, message: outcome.reason },
    };
  }
  const parsed = ConfigPatchFailureSchema.safeParse(outcome.body);
  if (!parsed.success) {
    return {
      ok: false,
      status: 502,
      error: {
        code: `HTTP_${outcome.status}`,
        message: `The agent answered ${outcome.status} with a body the console cannot read`,
        httpStatus: outcome.status,
      },
    };
  }
  return {
    ok: false,
    status: 502,
    error: {
      code: parsed.data.code,
      message: parsed.data.message,
      httpStatus: outcome.status,
      retryAfterSeconds: outcome.retryAfterSeconds,
      problems: parsed.data.problems,
    },
  };
}

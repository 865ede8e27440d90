/**
 * `POST /api/v1/actions/flush` and `/compact`. The action runs on each
 * target in name order, one after the other (an index's own maintenance
 * already uses the disk; running several at once would only compete), and
 * a failure on one index does not stop the others. The response comes when
 * all are done: 200 if every one COMPLETED, else 500 INTERNAL_ERROR with
 * the same per-index results, as the reference agent answers a failed
 * action.
 *
 * Order of checks: body → stored result (replay, or REQUEST_ID_CONFLICT
 * for another target) → quota → targets → audit intent → run.
 *
 * @module
 */
import type { Context, Handler } from "hono";
import type { Action, ActionFailure, ActionRequest, ActionResponse, ActionResult } from "./api/actions.ts";
import { ActionRequestSchema } from "./api/actions.ts";
import { REPLAYED_HEADER } from "./api/headers.ts";
import { parseJsonBody } from "./_body.ts";
import type { AgentEnv } from "./_env.ts";
import { AgentError } from "./_errors.ts";
import type { IdempotencyStore, StoredResult } from "./_idempotency.ts";
import type { IndexDirectory } from "./_indexes.ts";
import type { MutationQuota } from "./_quota.ts";
import type { ManagedIndex } from "./managed_index.ts";

export interface ActionOptions {
  indexes: IndexDirectory;
  results: IdempotencyStore;
  quota: MutationQuota;
  clock: () => number;
}

const VERBS: Record<Action, { method: "flush" | "compact"; done: string; noun: string }> = {
  FLUSH: { method: "flush", done: "Flushed", noun: "Flush" },
  COMPACT: { method: "compact", done: "Compacted", noun: "Compaction" },
};

export function actionHandler(action: Action, path: string, options: ActionOptions): Handler<AgentEnv> {
  const { indexes, results, quota, clock } = options;
  return async function runAction(c: Context<AgentEnv>) {
    const request: ActionRequest = parseJsonBody(c, ActionRequestSchema);
    c.set("requestId", request.requestId);
    const target = request.indexName ?? null;
    const key = `${c.get("caller").key} ${path} ${request.requestId}`;
    const trail = c.get("trail");
    const stored = results.get(key);
    if (stored !== undefined) {
      if (stored.target !== target) {
        throw new AgentError(
          "REQUEST_ID_CONFLICT",
          `requestId '${request.requestId}' was used for ${describeTarget(stored.target)}, ` +
            `not ${describeTarget(target)}`,
        );
      }
      const { status, body } = await stored.result;
      quota.describe(c, path);
      trail.outcome = "REPLAYED";
      trail.code = typeof body.code === "string" ? body.code as AgentError["code"] : undefined;
      return c.json(body, status, { [REPLAYED_HEADER]: "true" });
    }
    quota.charge(c, path);
    const targets = indexes.targets(request.indexName);
    const { status, body } = await results.run(key, target, async () => {
      await trail.intent();
      return await execute(action, request.requestId, targets, clock);
    });
    if (status !== 200) trail.code = "INTERNAL_ERROR";
    return c.json(body, status);
  };
}

function describeTarget(target: string | null): string {
  return target === null ? "every index" : `index '${target}'`;
}

async function execute(
  action: Action,
  requestId: string,
  targets: [string, ManagedIndex][],
  clock: () => number,
): Promise<StoredResult> {
  const verb = VERBS[action];
  const results: ActionResult[] = [];
  for (const [indexName, index] of targets) {
    const started = clock();
    try {
      await index[verb.method]();
      results.push({ indexName, status: "COMPLETED", durationMs: clock() - started });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      results.push({ indexName, status: "FAILED", message, durationMs: clock() - started });
    }
  }
  const capturedAt = new Date(clock()).toISOString();
  const failed = results.filter((r) => r.status === "FAILED");
  if (failed.length === 0) {
    const body: ActionResponse = {
      requestId,
      action,
      status: "COMPLETED",
      message: `${verb.done} ${results.length} index(es)`,
      results,
      capturedAt,
    };
    return { status: 200, body };
  }
  const body: ActionFailure = {
    code: "INTERNAL_ERROR",
    message: `${verb.noun} failed on ${failed.length} of ${results.length} index(es): ` +
      failed.map((r) => `'${r.indexName}': ${r.message}`).join("; "),
    requestId,
    capturedAt,
    action,
    status: "FAILED",
    results,
  };
  return { status: 500, body };
}

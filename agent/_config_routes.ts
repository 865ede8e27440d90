/**
 * `GET` and `PATCH /api/v1/config?indexName=`, on the engine's runtime
 * tuning API.
 *
 * PATCH checks, in order: indexName → body → quota → index exists and is
 * READY → every key supported (else 400 CONFIG_KEY_NOT_SUPPORTED) → audit
 * intent → `expectedRevision` (409 REVISION_CONFLICT) → the values and the
 * cross-key rules (400 INVALID_REQUEST, one problem per key) → apply,
 * unless `dryRun`. The revision and values are checked after the intent,
 * with no wait before the change is applied, so a concurrent change cannot
 * slip in between check and apply.
 *
 * @module
 */
import type { Context, Handler } from "hono";
import type { ConfigPatchResponse, ConfigProblem, ConfigView } from "./api/config.ts";
import { ConfigPatchRequestSchema } from "./api/config.ts";
import { parseJsonBody } from "./_body.ts";
import type { AgentEnv } from "./_env.ts";
import { AgentError, fromEngineError } from "./_errors.ts";
import type { IndexDirectory } from "./_indexes.ts";
import type { MutationQuota } from "./_quota.ts";
import type { ManagedIndex } from "./managed_index.ts";

/** The one value of a required query parameter; INVALID_REQUEST if missing, empty or repeated. */
function requiredQuery(c: Context<AgentEnv>, name: string): string {
  const values = c.req.queries(name) ?? [];
  if (values.length !== 1 || values[0] === "") {
    throw new AgentError(
      "INVALID_REQUEST",
      values.length > 1
        ? `Query parameter '${name}' must be given once`
        : `Query parameter '${name}' is required`,
    );
  }
  return values[0];
}

function view(name: string, index: ManagedIndex, clock: () => number): ConfigView {
  const config = index.config();
  return {
    indexName: name,
    original: { ...config.original },
    current: { ...config.current },
    revision: config.revision,
    supportedKeys: [...config.supportedKeys],
    capturedAt: new Date(clock()).toISOString(),
  };
}

export function getConfigHandler(indexes: IndexDirectory, clock: () => number): Handler<AgentEnv> {
  return function getConfig(c) {
    const name = requiredQuery(c, "indexName");
    return c.json(view(name, indexes.get(name), clock));
  };
}

function problemsError(
  code: "INVALID_REQUEST" | "CONFIG_KEY_NOT_SUPPORTED",
  problems: ConfigProblem[],
): AgentError {
  return new AgentError(code, problems.map((p) => p.message).join("; "), { fields: { problems } });
}

/** Why `values` cannot be applied to `index` now: a stale revision, or invalid values. */
function refuse(
  name: string,
  index: ManagedIndex,
  values: Record<string, number>,
  expectedRevision: number | undefined,
): AgentError | undefined {
  const revision = index.config().revision;
  if (expectedRevision !== undefined && expectedRevision !== revision) {
    return new AgentError(
      "REVISION_CONFLICT",
      `The configuration of index '${name}' is at revision ${revision}, not ${expectedRevision}`,
      { fields: { expectedRevision, currentRevision: revision } },
    );
  }
  const problems = index.validateConfig(values);
  return problems.length > 0 ? problemsError("INVALID_REQUEST", problems) : undefined;
}

export function patchConfigHandler(
  indexes: IndexDirectory,
  quota: MutationQuota,
  path: string,
  clock: () => number,
): Handler<AgentEnv> {
  return async function patchConfig(c) {
    const name = requiredQuery(c, "indexName");
    const patch = parseJsonBody(c, ConfigPatchRequestSchema);
    quota.charge(c, path);
    const index = indexes.get(name);
    if (index.state !== "READY") {
      throw new AgentError("INVALID_STATE", `Index '${name}' is ${index.state}, not READY`);
    }
    const supported = new Set<string>(index.config().supportedKeys);
    const unsupported = Object.keys(patch.values).filter((key) => !supported.has(key));
    if (unsupported.length > 0) {
      const list = [...supported].join(", ");
      throw problemsError(
        "CONFIG_KEY_NOT_SUPPORTED",
        unsupported.map((key) => ({
          key,
          message: `'${key}' is not supported for runtime tuning (supported: ${list})`,
        })),
      );
    }
    const trail = c.get("trail");
    await trail.intent();
    const refusal = refuse(name, index, patch.values, patch.expectedRevision);
    if (refusal !== undefined) {
      trail.outcome = "REJECTED";
      throw refusal;
    }
    if (!patch.dryRun) {
      try {
        index.applyConfig(patch.values, patch.expectedRevision);
      } catch (error) {
        throw fromEngineError(error, name);
      }
    }
    const body: ConfigPatchResponse = {
      indexName: name,
      dryRun: patch.dryRun,
      applied: !patch.dryRun,
      problems: [],
      config: view(name, index, clock),
    };
    return c.json(body);
  };
}

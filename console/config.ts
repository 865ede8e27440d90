/**
 * The console's configuration file: the nodes it watches, the people who may
 * sign in, and the polling timings. Parsed once, at startup.
 *
 * @module
 */
import { z } from "zod";

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

const NodeSchema = z.object({
  id: z.string().regex(NODE_ID, "1–64 characters of [A-Za-z0-9._-]"),
  name: z.string().min(1).max(100).optional(),
  baseUrl: z.url({ protocol: /^https?$/ }),
  /** The agent token; give it a `console` flag on the agent so the signed-in person is recorded as actor. */
  token: z.string().min(1).optional(),
  /** Name of an environment variable holding the token, so the file need not. */
  tokenEnv: z.string().min(1).optional(),
}).refine(
  (n) => (n.token === undefined) !== (n.tokenEnv === undefined),
  "give exactly one of token, tokenEnv",
);

const UserSchema = z.object({
  name: z.string().min(1),
  passwordHash: z.string(),
});

const positiveMs = z.number().int().positive();

const ConfigFileSchema = z.object({
  nodes: z.array(NodeSchema).min(1, "list at least one node"),
  users: z.array(UserSchema).optional(),
  /** PBKDF2 hash of a shared console token, an alternative sign-in for automation and break-glass use. */
  consoleTokenHash: z.string().optional(),
  pollIntervalMs: positiveMs.optional(),
  requestTimeoutMs: positiveMs.optional(),
  actionTimeoutMs: positiveMs.optional(),
});

/** One node as the console uses it: the token resolved, the base URL without a trailing slash. */
export interface NodeConfig {
  id: string;
  name: string;
  baseUrl: string;
  token: string;
}

/** One person who may sign in. */
export interface UserConfig {
  name: string;
  /** `pbkdf2-sha256$…`, from console/tools/password_hash.ts. */
  passwordHash: string;
}

/** The configuration file, checked and resolved. */
export interface ConsoleConfig {
  nodes: NodeConfig[];
  users: UserConfig[];
  consoleTokenHash?: string;
  pollIntervalMs?: number;
  requestTimeoutMs?: number;
  actionTimeoutMs?: number;
}

/**
 * Checks the shape of a parsed configuration file and resolves `tokenEnv`
 * from `env`. Throws TypeError naming every problem. What depends on more
 * than one entry (unique ids, hash strength) is checked by `createConsole`.
 */
export function parseConsoleConfig(
  json: unknown,
  env: Record<string, string | undefined> = {},
): ConsoleConfig {
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new TypeError(`Invalid console configuration:\n  ${lines.join("\n  ")}`);
  }
  const file = parsed.data;
  const nodes = file.nodes.map((n, i): NodeConfig => {
    const token = n.token ?? env[n.tokenEnv!];
    if (!token) throw new TypeError(`nodes.${i}: environment variable ${n.tokenEnv} is not set`);
    return { id: n.id, name: n.name ?? n.id, baseUrl: n.baseUrl.replace(/\/+$/, ""), token };
  });
  return {
    nodes,
    users: file.users ?? [],
    consoleTokenHash: file.consoleTokenHash,
    pollIntervalMs: file.pollIntervalMs,
    requestTimeoutMs: file.requestTimeoutMs,
    actionTimeoutMs: file.actionTimeoutMs,
  };
}

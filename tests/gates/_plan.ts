/**
 * The rollout stages, in order, and the validation of
 * `tests/gates/stages.json`, which lists the stages built so far.
 *
 * @module
 */

/** Every rollout stage, in the order the runner takes them. */
export const STAGE_ORDER = ["base", "durability", "A", "B", "C", "D", "dist"] as const;
export type StageName = typeof STAGE_ORDER[number];

/** Wall-clock budget per stage on our 2-core machines (seconds). */
export const STAGE_BUDGETS: Record<StageName, number> = {
  base: 300,
  durability: 300,
  A: 240,
  B: 180,
  C: 180,
  D: 240,
  dist: 120,
};

/** A gate that runs a deno subcommand and passes when it exits 0. */
export interface DenoGate {
  name: string;
  kind: "deno";
  args: string[];
}

/** A gate that runs test files on one runtime and counts their cases. */
export interface TestGate {
  name: string;
  kind: "deno-test" | "node-test";
  paths: string[];
  /** Test files or folders under `paths` that another gate runs. */
  exclude?: string[];
  /** A JSON file (under the repository) the gate writes with a `budget` text: its measured value against the limit. */
  budgetFile?: string;
}

export type Gate = DenoGate | TestGate;

export interface Stage {
  name: StageName;
  budgetSeconds: number;
  debian: string[];
  gates: Gate[];
}

/** Validates the parsed `stages.json`; throws TypeError naming the first problem. */
export function parsePlan(json: unknown): Map<StageName, Stage> {
  const stages = (json as { stages?: unknown })?.stages;
  if (typeof stages !== "object" || stages === null) {
    throw new TypeError('stages.json: missing "stages" object');
  }
  const plan = new Map<StageName, Stage>();
  for (const [name, raw] of Object.entries(stages)) {
    if (!(STAGE_ORDER as readonly string[]).includes(name)) {
      throw new TypeError(`stages.json: unknown stage "${name}" (known: ${STAGE_ORDER.join(", ")})`);
    }
    const stageName = name as StageName;
    const s = raw as Partial<Stage>;
    if (!Array.isArray(s.gates) || s.gates.length === 0) {
      throw new TypeError(`stages.json: stage "${name}" lists no gates`);
    }
    for (const g of s.gates) validateGate(name, g);
    plan.set(stageName, {
      name: stageName,
      budgetSeconds: s.budgetSeconds ?? STAGE_BUDGETS[stageName],
      debian: s.debian ?? [],
      gates: s.gates,
    });
  }
  return plan;
}

function validateGate(stage: string, gate: unknown): void {
  const g = gate as { name?: unknown; kind?: unknown; args?: unknown; paths?: unknown; exclude?: unknown };
  if (typeof g.name !== "string" || g.name === "") {
    throw new TypeError(`stages.json: a gate of "${stage}" has no name`);
  }
  if (g.kind === "deno") {
    if (!Array.isArray(g.args)) throw new TypeError(`stages.json: gate "${g.name}" needs "args"`);
  } else if (g.kind === "deno-test" || g.kind === "node-test") {
    if (!Array.isArray(g.paths) || g.paths.length === 0) {
      throw new TypeError(`stages.json: gate "${g.name}" needs "paths"`);
    }
    if (g.exclude !== undefined && !Array.isArray(g.exclude)) {
      throw new TypeError(`stages.json: gate "${g.name}" has a non-list "exclude"`);
    }
  } else {
    throw new TypeError(`stages.json: gate "${g.name}" has unknown kind "${g.kind}"`);
  }
}

/** The stages a command line selects: all of them, or the named ones in rollout order. */
export function selectStages(args: string[]): StageName[] {
  if (args.length === 0) return [...STAGE_ORDER];
  for (const a of args) {
    if (!(STAGE_ORDER as readonly string[]).includes(a)) {
      throw new TypeError(`Unknown stage "${a}"; choose from ${STAGE_ORDER.join(", ")}`);
    }
  }
  return STAGE_ORDER.filter((s) => args.includes(s));
}

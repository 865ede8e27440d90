/**
 * Installs packed packages into an empty folder with no registry request,
 * and runs plain Node scripts there, for the dist gates.
 *
 * The install is `npm ci --offline` with a package-lock.json made here: our
 * tarballs, plus every npm package they need, copied with its version and
 * integrity from the repository's package-lock.json. `npm ci` (the set-up
 * step, tests/gates/ensure_deps.ts) caches exactly those packages, and the
 * abbreviated package documents it resolved them with. A plain
 * `npm install <tarball>` would instead ask for the full documents, which
 * nothing caches, and fail offline with ENOTCACHED.
 *
 * The folders sit under out/, inside the repository, where Node would find
 * a dependency missing from a package in the repository's own
 * node_modules. So every script runs with a resolve hook that fails any
 * import made from inside the folder that lands outside it.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import type { PackedPackage } from "../../cli/tools/build_npm.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/** An entry of `packages` in a package-lock.json (v3). */
interface LockEntry {
  version: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  [field: string]: unknown;
}

/** The result of a child process. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command` to completion; never throws for a non-zero exit. */
export function runProcess(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** `packages.json` of a build: the tarballs and their dependencies. */
export function readPacked(dist: string): Map<string, PackedPackage> {
  const list = JSON.parse(readFileSync(join(dist, "packages.json"), "utf8")) as PackedPackage[];
  return new Map(list.map((p) => [p.name, p]));
}

function integrityOf(file: string): string {
  return `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
}

/** Where Node finds `name` from the package at `from` ("" for the root): the nearest node_modules up. */
function locate(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === "" ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (base === "") return undefined;
    const i = base.lastIndexOf("/node_modules/");
    base = i < 0 ? "" : base.slice(0, i);
  }
}

/** What npm installs for an entry: its dependencies, optional ones, and peers not marked optional. */
function needs(entry: LockEntry): string[] {
  const optional = (peer: string) => entry.peerDependenciesMeta?.[peer]?.optional === true;
  const peers = Object.keys(entry.peerDependencies ?? {}).filter((peer) => !optional(peer));
  return [
    ...Object.keys(entry.dependencies ?? {}),
    ...Object.keys(entry.optionalDependencies ?? {}),
    ...peers,
  ];
}

/**
 * Makes `dir` an empty project depending on `tarballs` (by package name,
 * from the build in `dist`) and `extras` (npm packages of the repository's
 * lock), and installs it offline.
 *
 * @throws {Error} With npm's output if the install fails (ENOTCACHED: run `deno task deps` online once).
 */
export async function installOffline(
  dir: string,
  dist: string,
  tarballs: readonly string[],
  extras: readonly string[] = [],
): Promise<void> {
  const packed = readPacked(dist);
  const rootLock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dependencies: Record<string, string> = {};
  const packages: Record<string, LockEntry> = {};
  const queue: [from: string, name: string][] = [];
  for (const name of tarballs) {
    const p = packed.get(name);
    if (!p) throw new Error(`${name} was not packed`);
    const file = join(dist, p.tarball);
    const manifest = JSON.parse(readFileSync(join(dist, p.dir, "package.json"), "utf8")) as LockEntry;
    const resolved = `file:${relative(dir, file)}`;
    dependencies[name] = resolved;
    // What a lock records of a package; the rest of its package.json does not belong there.
    const { version, license, engines, bin, peerDependencies, peerDependenciesMeta } = manifest;
    packages[`node_modules/${name}`] = {
      version,
      resolved,
      integrity: integrityOf(file),
      license,
      engines,
      bin,
      dependencies: manifest.dependencies,
      peerDependencies,
      peerDependenciesMeta,
    };
    for (const dep of needs(manifest)) queue.push(["", dep]);
  }
  for (const name of extras) {
    const entry = rootLock.packages[`node_modules/${name}`];
    if (!entry) throw new Error(`${name} is not in package-lock.json`);
    dependencies[name] = entry.version;
    queue.push(["", name]);
  }
  while (queue.length > 0) {
    const [from, name] = queue.shift()!;
    if (packages[`node_modules/${name}`]?.resolved?.startsWith("file:")) continue; // one of our tarballs
    const at = locate(rootLock.packages, from, name);
    if (!at) throw new Error(`${name} (needed by ${from || "the project"}) is not in package-lock.json`);
    if (packages[at]) continue;
    // The flags describe the repository's tree (dev, peer-only); npm works them out again for this one.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = rootLock.packages[at];
    packages[at] = entry;
    for (const dep of needs(entry)) queue.push([at, dep]);
  }
  const project = {
    name: "hestiastore-dist-check",
    version: "0.0.0",
    private: true,
    type: "module",
    dependencies,
  };
  writeFileSync(join(dir, "package.json"), JSON.stringify(project, null, 2));
  writeFileSync(
    join(dir, "package-lock.json"),
    JSON.stringify(
      { ...project, lockfileVersion: 3, requires: true, packages: { "": project, ...packages } },
      null,
      2,
    ),
  );
  const npm = await runProcess(
    "npm",
    ["ci", "--offline", "--no-audit", "--no-fund", "--loglevel=error"],
    { cwd: dir, timeoutMs: 180_000 },
  );
  if (npm.code !== 0) {
    throw new Error(`npm ci --offline failed in ${dir} (exit ${npm.code}):\n${npm.stdout}${npm.stderr}`);
  }
  writeGuard(dir);
}

/** Writes `guard.mjs`: `node --import ./guard.mjs` then refuses imports from `dir` that resolve outside it. */
function writeGuard(dir: string): void {
  const inside = pathToFileURL(join(dir, "/")).href;
  writeFileSync(
    join(dir, "guard_hooks.mjs"),
    `const INSIDE = ${JSON.stringify(inside)};
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (context.parentURL?.startsWith(INSIDE) && result.url.startsWith("file:") && !result.url.startsWith(INSIDE)) {
    throw new Error(\`\${specifier} (imported by \${context.parentURL}) resolved outside the install folder: \${result.url}\`);
  }
  return result;
}
`,
  );
  writeFileSync(
    join(dir, "guard.mjs"),
    `import { register } from "node:module";\nregister("./guard_hooks.mjs", import.meta.url);\n`,
  );
}

/** `NODE_OPTIONS` that put the guard of `dir` on every Node process, `npx` and what it starts included. */
export function guardOptions(dir: string): string {
  return `--import=${pathToFileURL(join(dir, "guard.mjs")).href}`;
}

/** Writes `script` to `dir/name` and runs it with Node under the guard. */
export async function runNodeScript(dir: string, name: string, script: string): Promise<Ran> {
  writeFileSync(join(dir, name), script);
  return await runProcess("node", [name], { cwd: dir, env: { NODE_OPTIONS: guardOptions(dir) } });
}

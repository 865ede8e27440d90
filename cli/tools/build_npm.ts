/**
 * `deno task dist`: one npm package per workspace member, built into
 * `out/dist/<member>/` and packed with `npm pack` into `out/dist/`.
 *
 * Each package is made from its member's `deno.json` (name, version,
 * exports), with no hand-written JavaScript:
 * - esbuild bundles the exports as ES modules, shared code split into
 *   chunks. Every npm package stays an import, so it becomes a real
 *   dependency at the root package.json's version; an import of another
 *   member's exported file becomes an import of that member's package.
 * - `tsc` emits the type declarations, with the same rewriting.
 * - The README is the entry file's module doc; LICENSE is the project's.
 *
 * `out/dist/packages.json` lists what was packed, for the dist gate.
 *
 * ```sh
 * deno task dist                                           # into out/dist/
 * deno run -A cli/tools/build_npm.ts --out out/elsewhere   # the dist gate builds its own copy
 * ```
 *
 * @module
 */
import { execFile } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import * as esbuild from "esbuild";
import ts from "typescript";
import { buildClient } from "../../console/bundle.ts";
import { CLIENT_ASSET } from "./_prebuilt_client.ts";
import { VERSION } from "../../exporters/version.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

/** How a workspace member becomes an npm package; the rest comes from its deno.json. */
interface MemberSpec {
  dir: string;
  description: string;
  /**
   * "neutral" adds nothing runtime-specific (every import stays an import,
   * `node:` built-ins included); "node" for members that only run on a
   * server runtime anyway.
   */
  platform: "neutral" | "node";
  /** The member is a command: the package takes its name, and the export becomes its `bin`. */
  command?: { name: string; export: string };
}

const MEMBERS: readonly MemberSpec[] = [
  {
    dir: "engine",
    description: "HestiaStore engine: an embeddable, ordered key-value index on disk, with zero dependencies",
    platform: "neutral",
  },
  {
    dir: "exporters",
    description: "HestiaStore exporters: Prometheus/OpenMetrics exposition and an OpenTelemetry bridge",
    platform: "neutral",
  },
  {
    dir: "agent",
    description:
      "HestiaStore management agent: REST JSON API, tokens and roles, audit trail; its API contract",
    platform: "neutral",
  },
  {
    dir: "console",
    description:
      "HestiaStore web console: one page for every node's state, metrics, actions and configuration",
    platform: "node",
  },
  {
    dir: "cli",
    description: "HestiaStore node in one command: engine, management agent, metrics and web console",
    platform: "node",
    command: { name: "hestiastore", export: "./main" },
  },
];

/**
 * Files of one member that another imports directly instead of through an
 * export: the engine's path helpers (agent), and the host helpers the CLI
 * shares with `agent/main.ts`, with what they import. Each is copied into
 * the importing package, so what the importer uses of it must be plain
 * functions and constants: a second copy of a class or of module state
 * would split `instanceof` and state. The build fails on an entry nothing
 * needs any more.
 */
const INLINED = new Set(["engine/fs/path.ts", "agent/host.ts", "agent/tokens.ts", "agent/api/roles.ts"]);

interface DenoConfig {
  name: string;
  version: string;
  exports: Record<string, string>;
}

interface Member extends MemberSpec, DenoConfig {
  npmName: string;
  /** The exports other code imports: all but the command's. */
  library: Record<string, string>;
}

/** One packed package, as `out/dist/packages.json` lists it. */
export interface PackedPackage {
  dir: string;
  name: string;
  version: string;
  /** File name under `out/dist/`. */
  tarball: string;
  /** Bytes of the tarball. */
  size: number;
  unpackedSize: number;
  files: number;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

interface PackageJson {
  version: string;
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function loadMembers(): Member[] {
  return MEMBERS.map((spec) => {
    const config = readJson<DenoConfig>(join(ROOT, spec.dir, "deno.json"));
    if (config.version !== VERSION) {
      throw new Error(
        `${spec.dir}/deno.json has version ${config.version}; exporters/version.ts says ${VERSION}`,
      );
    }
    if (spec.command && !config.exports[spec.command.export]) {
      throw new Error(`${spec.dir}/deno.json does not export ${spec.command.export}, the command`);
    }
    const library = Object.fromEntries(
      Object.entries(config.exports).filter(([key]) => key !== spec.command?.export),
    );
    return { ...spec, ...config, npmName: spec.command?.name ?? config.name, library };
  });
}

/** "./api" -> "api", "." -> "mod": the output file of an export. */
function outputName(exportKey: string): string {
  return exportKey === "." ? "mod" : exportKey.slice(2).replaceAll("/", "_");
}

/** Maps "engine/mod" (a source path without extension) to "@hestiastore/engine". */
function entrySpecifiers(members: readonly Member[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const m of members) {
    for (const [key, target] of Object.entries(m.library)) {
      map.set(stripExtension(join(m.dir, target)), key === "." ? m.npmName : `${m.npmName}${key.slice(1)}`);
    }
  }
  return map;
}

function stripExtension(path: string): string {
  return path.replace(/(\.d)?\.(ts|tsx|js)$/, "");
}

/** Top folder of a repository path: the member that owns it. */
function memberOf(repoPath: string): string {
  return repoPath.split("/")[0];
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Routes imports across members to packages, and the console's bundle module to the prebuilt asset. */
function workspacePlugin(member: Member, entries: Map<string, string>, inlined: Set<string>): esbuild.Plugin {
  return {
    name: "hestiastore-workspace",
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        const target = relative(ROOT, resolve(args.resolveDir, args.path));
        // The console package serves the bundle built here instead of building it at startup.
        if (target === "console/bundle.ts") {
          return { path: fileURLToPath(new URL("./_prebuilt_client.ts", import.meta.url)) };
        }
        if (memberOf(target) === member.dir) return undefined;
        if (INLINED.has(target)) {
          inlined.add(target);
          return undefined;
        }
        const specifier = entries.get(stripExtension(target));
        if (specifier) return { path: specifier, external: true };
        const text =
          `${relative(ROOT, args.importer)} imports ${target}, which ${memberOf(target)}/deno.json ` +
          "does not export: import an exported module, or list the file in INLINED if it is pure functions";
        return { errors: [{ text }] };
      });
    },
  };
}

/** Bundles a member's exports into `dir`; returns the npm packages its code imports. */
async function bundle(
  member: Member,
  entries: Map<string, string>,
  dir: string,
  inlined: Set<string>,
): Promise<Set<string>> {
  const entryPoints = Object.fromEntries(
    Object.entries(member.exports).map(([key, target]) => [outputName(key), join(ROOT, member.dir, target)]),
  );
  const result = await esbuild.build({
    entryPoints,
    outdir: dir,
    // Chunks beside the entries keep `import.meta.url` siblings (the client asset) the same for every file.
    chunkNames: "chunk-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: member.platform,
    target: "es2022",
    packages: "external",
    jsx: "automatic",
    jsxImportSource: "preact",
    // Bundling renames clashing top-level names; error classes must keep theirs.
    keepNames: true,
    metafile: true,
    logLevel: "warning",
    plugins: [workspacePlugin(member, entries, inlined)],
  });
  const imported = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const i of output.imports) {
      if (i.external && !i.path.startsWith("node:")) imported.add(packageName(i.path));
    }
  }
  return imported;
}

/** Emits declarations for every library export of every member into `types`. */
async function emitDeclarations(members: readonly Member[], types: string): Promise<void> {
  const files = members.flatMap((m) => Object.values(m.library).map((target) => join(ROOT, m.dir, target)));
  const tsconfig = join(types, "tsconfig.json");
  mkdirSync(types, { recursive: true });
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        target: "es2022",
        module: "nodenext",
        moduleResolution: "nodenext",
        declaration: true,
        emitDeclarationOnly: true,
        // `deno task check` type-checks the sources (with Deno's types, which tsc lacks); this only emits.
        noCheck: true,
        allowImportingTsExtensions: true,
        jsx: "react-jsx",
        jsxImportSource: "preact",
        lib: ["es2023", "dom", "dom.iterable"],
        types: ["node"],
        strict: true,
        skipLibCheck: true,
        rootDir: ROOT,
        outDir: types,
      },
      files,
    }),
  );
  await run("node", [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { cwd: ROOT });
}

/**
 * Rewrites the relative specifiers of doc examples (`"../engine/mod.ts"`,
 * `"./mod.ts"`) that name an exported file into package names, so the
 * README and editor hovers show what a package user writes.
 */
function rewriteDocSpecifiers(text: string, repoFile: string, entries: Map<string, string>): string {
  return text.replace(
    /(from\s+|import\s*\(\s*)"(\.\.?\/[^"]+\.tsx?)"/g,
    (all, head: string, spec: string) => {
      const target = entries.get(stripExtension(join(dirname(repoFile), spec)));
      return target ? `${head}"${target}"` : all;
    },
  );
}

/**
 * Copies the declarations reachable from the member's exports into
 * `dir/types/`: `.ts` specifiers become `.js`, other members' exported
 * files their package names. Returns the packages they import.
 */
function copyDeclarations(
  member: Member,
  entries: Map<string, string>,
  types: string,
  dir: string,
): Set<string> {
  const imported = new Set<string>();
  const queue = Object.values(member.library).map((target) => stripExtension(join(member.dir, target)));
  const seen = new Set(queue);
  while (queue.length > 0) {
    const file = queue.shift()!;
    const source = readFileSync(join(types, `${file}.d.ts`), "utf8");
    const edits: { pos: number; end: number; text: string }[] = [];
    for (const ref of ts.preProcessFile(source, true, true).importedFiles) {
      const spec = ref.fileName;
      if (!spec.startsWith(".")) {
        if (spec.includes("node_modules")) {
          throw new Error(`${file}.d.ts names a path inside node_modules: ${spec}`);
        }
        if (!spec.startsWith("node:")) imported.add(packageName(spec));
        continue;
      }
      const target = stripExtension(join(dirname(file), spec));
      let text: string;
      if (memberOf(target) === member.dir) {
        text = `${spec.replace(/\.(d\.ts|tsx?|js)$/, "")}.js`;
        if (!seen.has(target)) {
          seen.add(target);
          queue.push(target);
        }
      } else {
        const specifier = entries.get(target);
        if (!specifier) throw new Error(`${file}.d.ts refers to ${target}, which is not an exported module`);
        imported.add(packageName(specifier));
        text = specifier;
      }
      // `pos` is where the string literal starts, its quote included.
      if (source.slice(ref.pos + 1, ref.pos + 1 + spec.length) !== spec) {
        throw new Error(`${file}.d.ts: cannot locate the specifier ${spec}`);
      }
      edits.push({ pos: ref.pos + 1, end: ref.pos + 1 + spec.length, text });
    }
    let out = source;
    for (const e of edits.sort((a, b) => b.pos - a.pos)) {
      out = out.slice(0, e.pos) + e.text + out.slice(e.end);
    }
    const path = join(dir, "types", relative(member.dir, `${file}.d.ts`));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, rewriteDocSpecifiers(out, `${file}.ts`, entries));
  }
  return imported;
}

/** The `@module` doc of the member's main file, as Markdown. */
function readme(member: Member, entries: Map<string, string>): string {
  const main = join(member.dir, member.exports["."]);
  const doc = readFileSync(join(ROOT, main), "utf8").match(/\/\*\*([\s\S]*?)\*\//)?.[1];
  if (!doc?.includes("@module")) throw new Error(`${main} does not start with a @module doc`);
  const lines = doc.split("\n").map((line) => line.replace(/^\s*\* ?/, ""));
  const body = lines.filter((line) => line !== "@module").join("\n").trim()
    .replace(/\{@link(?:code|plain)? ([^}\s]+)\}/g, "`$1`") // JSDoc links become code spans
    .replace(/^```(\w+) [^\n]*$/gm, "```$1"); // `deno test --doc` attributes such as `ignore`
  const install = member.command ? `npx ${member.npmName} --help` : `npm install ${member.npmName}`;
  return `# ${member.npmName}\n\n${member.description}.\n\n\`\`\`sh\n${install}\n\`\`\`\n\n` +
    `${rewriteDocSpecifiers(body, main, entries)}\n\n` +
    `Version ${member.version}: ES modules with type declarations, for Node ${NODE_RANGE}, ` +
    `built from the \`${member.dir}/\` folder of HestiaStore for TypeScript. MIT licensed.\n`;
}

const NODE_RANGE = ">=20";

/** Resolves each imported npm package to a dependency or peer dependency, at the root package.json's version. */
function dependencies(
  member: Member,
  imported: ReadonlySet<string>,
  members: readonly Member[],
  root: PackageJson,
): Pick<PackedPackage, "dependencies" | "peerDependencies"> {
  const own = new Set(members.map((m) => m.npmName));
  const deps: Record<string, string> = {};
  const peers: Record<string, string> = {};
  for (const name of [...imported].sort()) {
    if (own.has(name)) deps[name] = VERSION;
    else if (root.dependencies[name]) deps[name] = `^${root.dependencies[name]}`;
    else if (root.peerDependencies?.[name]) peers[name] = root.peerDependencies[name];
    else {
      throw new Error(
        `${member.dir} imports ${name}, which is neither a dependency nor a peer dependency of package.json`,
      );
    }
  }
  return { dependencies: deps, peerDependencies: peers };
}

function packageJson(member: Member, deps: Pick<PackedPackage, "dependencies" | "peerDependencies">): object {
  const exports = Object.fromEntries(
    Object.entries(member.library).map(([key, target]) => [key, {
      types: `./types/${target.slice(2).replace(/\.tsx?$/, ".d.ts")}`,
      import: `./${outputName(key)}.js`,
    }]),
  );
  const command = member.command;
  const peers = Object.keys(deps.peerDependencies);
  return {
    name: member.npmName,
    version: member.version,
    description: member.description,
    license: "MIT",
    type: "module",
    exports,
    ...(command ? { bin: { [command.name]: `./${outputName(command.export)}.js` } } : {}),
    engines: { node: NODE_RANGE },
    dependencies: deps.dependencies,
    ...(peers.length === 0 ? {} : {
      peerDependencies: deps.peerDependencies,
      // Only a subpath (the OpenTelemetry bridge) needs them; the application brings them.
      peerDependenciesMeta: Object.fromEntries(peers.map((p) => [p, { optional: true }])),
    }),
  };
}

/** Rewrites the command's first line for Node, whatever the source's hashbang said. */
function makeExecutable(file: string): void {
  const code = readFileSync(file, "utf8").replace(/^#!.*\n/, "");
  writeFileSync(file, `#!/usr/bin/env node\n${code}`);
  chmodSync(file, 0o755);
}

interface NpmPackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
}

async function pack(dir: string, out: string): Promise<NpmPackResult> {
  const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", out], {
    cwd: dir,
  });
  return (JSON.parse(stdout) as NpmPackResult[])[0];
}

/**
 * Builds every member into `out/<member>/`, packs it into `out/`, and lists
 * the tarballs in `out/packages.json`. Empties `out` first.
 */
export async function buildNpmPackages(out: string): Promise<PackedPackage[]> {
  const members = loadMembers();
  const entries = entrySpecifiers(members);
  const root = readJson<PackageJson>(join(ROOT, "package.json"));
  const types = join(out, ".types");
  rmSync(out, { recursive: true, force: true });
  const packed: PackedPackage[] = [];
  try {
    const client = await buildClient();
    const inlined = new Set<string>();
    const [bundles] = await Promise.all([
      Promise.all(members.map((m) => bundle(m, entries, join(out, m.dir), inlined))),
      emitDeclarations(members, types),
    ]);
    const stale = [...INLINED].filter((file) => !inlined.has(file));
    if (stale.length > 0) throw new Error(`INLINED lists ${stale.join(", ")}, which no other member imports`);
    for (const [i, member] of members.entries()) {
      const dir = join(out, member.dir);
      const imported = new Set(bundles[i]);
      for (const name of copyDeclarations(member, entries, types, dir)) imported.add(name);
      if (member.command) makeExecutable(join(dir, `${outputName(member.command.export)}.js`));
      if (member.dir === "console") {
        mkdirSync(join(dir, dirname(CLIENT_ASSET)), { recursive: true });
        writeFileSync(join(dir, CLIENT_ASSET), client.code);
      }
      const deps = dependencies(member, imported, members, root);
      writeFileSync(join(dir, "package.json"), JSON.stringify(packageJson(member, deps), null, 2) + "\n");
      writeFileSync(join(dir, "README.md"), readme(member, entries));
      cpSync(join(ROOT, "LICENSE"), join(dir, "LICENSE"));
      const result = await pack(dir, out);
      packed.push({
        dir: member.dir,
        name: member.npmName,
        version: member.version,
        tarball: result.filename,
        size: result.size,
        unpackedSize: result.unpackedSize,
        files: result.entryCount,
        ...deps,
      });
    }
  } finally {
    await esbuild.stop();
  }
  writeFileSync(join(out, "packages.json"), JSON.stringify(packed, null, 2) + "\n");
  return packed;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: "string", default: join(ROOT, "out/dist") } } });
  const out = resolve(values.out);
  const started = performance.now();
  const packed = await buildNpmPackages(out);
  for (const p of packed) {
    const deps = Object.keys(p.dependencies).join(", ") || "nothing";
    console.log(
      `${p.tarball.padEnd(32)} ${kib(p.size).padStart(10)} packed, ${kib(p.unpackedSize).padStart(10)} ` +
        `unpacked, ${String(p.files).padStart(3)} files; depends on ${deps}`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`${relative(ROOT, out)}/: ${packed.length} packages in ${seconds.toFixed(1)} s`);
}

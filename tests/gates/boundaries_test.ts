import { assertEquals, assertGreater } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { readdirSync, readFileSync, statSync } from "node:fs";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(`${ROOT}${dir}`)) {
    const path = `${dir}/${name}`;
    if (statSync(`${ROOT}${path}`).isDirectory()) out.push(...sources(path));
    else if (/\.tsx?$/.test(name)) out.push(path);
  }
  return out;
}

/** Every module specifier a file imports or re-exports, with the line it is on. */
function specifiers(path: string): { specifier: string; line: number }[] {
  const text = readFileSync(`${ROOT}${path}`, "utf8");
  const out: { specifier: string; line: number }[] = [];
  const pattern =
    /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of text.matchAll(pattern)) {
    out.push({ specifier: m[1] ?? m[2], line: text.slice(0, m.index).split("\n").length });
  }
  return out;
}

function resolve(from: string, specifier: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}

describe("module boundaries", () => {
  it("engine/ imports only its own files and node: built-ins (zero dependencies)", () => {
    const bad: string[] = [];
    let seen = 0;
    for (const file of sources("engine")) {
      for (const { specifier, line } of specifiers(file)) {
        seen++;
        const ok = specifier.startsWith("node:") ||
          (specifier.startsWith(".") && resolve(file, specifier).startsWith("engine/"));
        if (!ok) bad.push(`${file}:${line} imports ${specifier}`);
      }
    }
    assertEquals(bad, []);
    assertGreater(seen, 50, "the import scan found too few imports to be working");
  });

  it("no mod.ts re-exports an internal (_-prefixed) or unstable_ file", () => {
    const bad: string[] = [];
    for (
      const file of ["engine", "exporters", "agent", "console"].flatMap((m) => {
        try {
          return sources(m).filter((f) => f.endsWith("/mod.ts"));
        } catch {
          return [];
        }
      })
    ) {
      for (const { specifier, line } of specifiers(file)) {
        const name = specifier.split("/").pop()!;
        if (name.startsWith("_") || name.startsWith("unstable_")) {
          bad.push(`${file}:${line} re-exports ${specifier}`);
        }
      }
    }
    assertEquals(bad, []);
  });
});

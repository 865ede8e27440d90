/**
 * The browser bundle: the client entry and every island, built by esbuild
 * into one minified ES module. Its URL carries a hash of its content, so
 * browsers may cache it for a year and still never run an old build.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** A built bundle, ready to serve. */
export interface ClientBundle {
  /** URL path, e.g. `/static/client.3f2a….js`. */
  path: string;
  code: Uint8Array;
}

/** Builds the bundle with esbuild (a dev dependency; pass a prebuilt bundle to `createConsole` to avoid it). */
export async function buildClient(): Promise<ClientBundle> {
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: [fileURLToPath(new URL("./client.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      jsx: "automatic",
      jsxImportSource: "preact",
      minify: true,
      legalComments: "none",
      write: false,
    });
    const code = result.outputFiles[0].contents;
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", code as Uint8Array<ArrayBuffer>));
    const hash = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return { path: `/static/client.${hash}.js`, code };
  } finally {
    // esbuild keeps a service process; stopping it lets the runtime (and Deno's test sanitizers) finish.
    await esbuild.stop();
  }
}

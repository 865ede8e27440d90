/**
 * The package version, reported by `hestiastore_build_info`. Kept equal to
 * the `version` of deno.json and package.json (a test checks it): reading
 * those files at run time would need file-system access, which the
 * exporter must not require in a browser-like fetch runtime.
 *
 * @module
 */

/** Version of HestiaStore for TypeScript. */
export const VERSION = "0.1.0";

/**
 * The sample names the exporter writes, from the catalog, and a checker for
 * the `hestiastore_*` names that docs, dashboards and rules mention.
 *
 * @module
 */
import { BUILD_INFO_NAME, FAMILIES } from "../../exporters/_catalog.ts";

/** Every sample name of the exposition: scalars, states, build info and each histogram's `_bucket`/`_sum`/`_count`. */
export function exportedSampleNames(): Set<string> {
  const names = new Set([BUILD_INFO_NAME]);
  for (const family of FAMILIES) {
    if (family.kind === "histogram") {
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(family.name + suffix);
    } else {
      names.add(family.name);
    }
  }
  return names;
}

/**
 * The `hestiastore_*` names in `text` that match none of `known`. A mention
 * with a wildcard (`hestiastore_wal_*`, `hestiastore_ops_…_total`) must match
 * at least one known name.
 */
export function unknownMetricNames(text: string, known: ReadonlySet<string>): string[] {
  const unknown = new Set<string>();
  for (const [mention] of text.matchAll(/hestiastore_[a-z0-9_]*(?:[*…][a-z0-9_]*)*/g)) {
    if (/[*…]/.test(mention)) {
      const pattern = new RegExp(`^${mention.replace(/[*…]/g, "[a-z0-9_]*")}$`);
      if (![...known].some((name) => pattern.test(name))) unknown.add(mention);
    } else if (!known.has(mention)) {
      unknown.add(mention);
    }
  }
  return [...unknown].sort();
}

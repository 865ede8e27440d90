/**
 * Number and time formatting shared by the server-rendered pages and the
 * islands, so both print the same text. Times are UTC: the server renders
 * before it knows the browser's time zone.
 *
 * @module
 */

const COUNT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const RATE = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 });

/** An exact count with grouping: `12,345`. */
export function formatCount(value: number): string {
  return COUNT.format(value);
}

/** Operations per second, three significant digits; an em dash when there is no rate. */
export function formatRate(value: number | null): string {
  if (value === null) return "—";
  return value === 0 ? "0" : RATE.format(value);
}

/** A ratio as a percentage with one decimal; an em dash when undefined. */
export function formatPercent(ratio: number | null): string {
  return ratio === null ? "—" : `${(ratio * 100).toFixed(1)} %`;
}

/** Bytes in binary units: `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Microseconds, switching to ms or s when large: `850 µs`, `12.5 ms`. */
export function formatMicros(micros: number): string {
  if (micros < 1000) return `${RATE.format(micros)} µs`;
  if (micros < 1_000_000) return `${RATE.format(micros / 1000)} ms`;
  return `${RATE.format(micros / 1_000_000)} s`;
}

/** Seconds as the largest two units: `3 d 4 h`, `12 min 5 s`. */
export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const parts: [number, string][] = [[Math.floor(s / 86400), "d"], [Math.floor(s / 3600) % 24, "h"], [
    Math.floor(s / 60) % 60,
    "min",
  ], [s % 60, "s"]];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return "0 s";
  return parts.slice(first, first + 2).map(([n, u]) => `${n} ${u}`).join(" ");
}

/** Epoch ms as `HH:MM:SS UTC`. */
export function formatTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(11, 19)} UTC`;
}

/** Epoch ms as ISO 8601, for `<time datetime>`. */
export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** How long before `reference` the moment `epochMs` was: `just now`, `4 s ago`, `3 min ago`. */
export function formatAge(epochMs: number, reference: number): string {
  const seconds = Math.max(0, Math.round((reference - epochMs) / 1000));
  if (seconds < 1) return "just now";
  return `${formatDuration(seconds)} ago`;
}

/** Where an action ran, in words: `every index of node-1` or `index orders of node-1`. */
export function formatTarget(nodeName: string, indexName: string | null): string {
  return indexName === null ? `every index of ${nodeName}` : `index ${indexName} of ${nodeName}`;
}

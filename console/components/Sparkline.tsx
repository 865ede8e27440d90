/** @jsxRuntime automatic @jsxImportSource preact */

export interface SparklineProps {
  /** Oldest first; null leaves a gap (no rate for that poll). */
  values: (number | null)[];
  /** What the line shows, for screen readers, e.g. "Reads per second on node-1". */
  label: string;
  width?: number;
  height?: number;
}

/** A small SVG line of recent values, drawn on the server too; gaps where a value is missing. */
export default function Sparkline({ values, label, width = 96, height = 24 }: SparklineProps) {
  const known = values.filter((v): v is number => v !== null);
  const max = Math.max(1, ...known);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const runs: string[] = [];
  let run: string[] = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (run.length > 0) runs.push(run.join(" "));
      run = [];
      return;
    }
    const y = height - 2 - (v / max) * (height - 4);
    run.push(`${(i * step).toFixed(1)},${y.toFixed(1)}`);
  });
  if (run.length > 0) runs.push(run.join(" "));
  return (
    <svg
      role="img"
      aria-label={`${label}: ${known.length} of the last ${values.length} polls, peak ${max.toFixed(1)}`}
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      class="shrink-0 text-blue-700"
    >
      <line x1="0" y1={height - 1} x2={width} y2={height - 1} stroke="#d1d5db" stroke-width="1" />
      {runs.map((points, i) =>
        points.includes(" ")
          ? <polyline key={i} points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
          : <circle key={i} cx={points.split(",")[0]} cy={points.split(",")[1]} r="1.5" fill="currentColor" />
      )}
    </svg>
  );
}

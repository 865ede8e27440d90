/**
 * Counts the cases of a JUnit XML report as written by `deno test
 * --junit-path` and by Node's `--test-reporter=junit`.
 *
 * @module
 */

/** Outcome counts of one report, with the names of the failed cases. */
export interface JunitCounts {
  passed: number;
  failed: number;
  skipped: number;
  failures: string[];
}

const ENTITIES: Record<string, string> = {
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&apos;": "'",
  "&amp;": "&",
};

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (m) => ENTITIES[m]);
}

/** Parses a JUnit report; every `<testcase>` is one case. */
export function parseJunit(xml: string): JunitCounts {
  const counts: JunitCounts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  const cases = xml.split(/<testcase\b/).slice(1);
  for (const raw of cases) {
    // A case's body ends where the next element at suite level starts.
    const body = raw.split(/<\/testsuite>|<testsuite\b/)[0];
    const name = unescapeXml(/\bname="([^"]*)"/.exec(body)?.[1] ?? "(unnamed)");
    if (/<(failure|error)\b/.test(body)) {
      counts.failed++;
      counts.failures.push(name);
    } else if (/<skipped\b/.test(body)) {
      counts.skipped++;
    } else {
      counts.passed++;
    }
  }
  return counts;
}

/**
 * A `hestiastore serve` child process for the CLI tests: its output as it
 * arrives, the URLs and admin token it prints, signals, and its exit.
 * Works under Deno and Node.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import { createServer } from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** `hestiastore serve` on the runtime running the test, from the repository root. */
export const SERVE: readonly string[] = "Deno" in globalThis
  ? [process.execPath, "run", "-A", "cli/main.ts", "serve"]
  : [process.execPath, "--import", "tsx", "cli/main.ts", "serve"];

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: string | null;
}

export class ServeProcess {
  readonly #child: ChildProcess;
  #output = "";
  #waiters = new Set<() => void>();
  readonly #exit: Promise<Exit>;
  readonly #closed: Promise<void>;

  /** Starts `command` in the repository root. */
  constructor(command: readonly string[]) {
    this.#child = spawn(command[0], command.slice(1), {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    const append = (chunk: Buffer) => {
      this.#output += chunk.toString("utf8");
      for (const wake of this.#waiters) wake();
    };
    this.#child.stdout!.on("data", append);
    this.#child.stderr!.on("data", append);
    this.#exit = new Promise((resolve, reject) => {
      this.#child.once("error", reject);
      this.#child.once("exit", (code, signal) => {
        for (const wake of this.#waiters) wake();
        resolve({ code, signal });
      });
    });
    this.#closed = new Promise((resolve) => this.#child.once("close", () => resolve()));
  }

  /** Everything printed so far, stdout and stderr interleaved as they arrived. */
  get output(): string {
    return this.#output;
  }

  get exitCode(): number | null {
    return this.#child.exitCode;
  }

  /** Resolves with the first match of `pattern` in the output; rejects on timeout or if the child ends first. */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const done = (finish: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        finish();
      };
      const check = () => {
        const match = this.#output.match(pattern);
        if (match) return done(() => resolve(match));
        if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
          done(() => reject(new Error(`Exited before printing ${pattern}:\n${this.#output}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`No ${pattern} within ${timeoutMs} ms:\n${this.#output}`))),
        timeoutMs,
      );
      this.#waiters.add(check);
      check();
    });
  }

  /** The URL printed on the summary line `label` ("Agent", "Metrics", "Console"). */
  async url(label: string, timeoutMs?: number): Promise<string> {
    const match = await this.waitFor(new RegExp(`^  ${label} +(https?://\\S+?)/?(?: |$)`, "m"), timeoutMs);
    return match[1];
  }

  signal(signal: "SIGTERM" | "SIGINT"): void {
    // Not child.kill(): under Deno 2.9.6 node:child_process then reports the signal it sent as the cause of
    // the exit, even when the child handled it and exited with code 0.
    process.kill(this.#child.pid!, signal);
  }

  /**
   * Resolves once the child ended and its output is closed. Rejects after
   * `timeoutMs`, or when a process it started outlives it and keeps its
   * output open (a launcher that did not pass a signal on).
   */
  async exited(timeoutMs = 60_000): Promise<Exit> {
    const exit = await within(this.#exit, timeoutMs, `Still running after ${timeoutMs} ms:\n${this.#output}`);
    await within(this.#closed, 5_000, `Exited ${JSON.stringify(exit)}, but a process it started still runs`);
    return exit;
  }

  /** Kills the child if it still runs (test cleanup) and waits for it, but not for processes it left behind. */
  async dispose(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
    await this.#exit.catch(() => undefined);
    this.#child.stdout!.destroy();
    this.#child.stderr!.destroy();
  }
}

async function within<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(message)), timeoutMs)
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** True when a TCP connection to `127.0.0.1:port` is refused. */
export function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve(error.code === "ECONNREFUSED");
    });
  });
}

/** The port of a URL such as `http://127.0.0.1:9001`. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** GET (or another method) with a bearer token; the body is read, so no resource stays open. */
export async function call(
  url: string,
  options: { token?: string; method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string; json(): unknown }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, {
    method: options.method ?? "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    redirect: "manual",
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

/** The admin token a first start prints. */
export async function adminToken(node: ServeProcess): Promise<string> {
  return (await node.waitFor(/^ {2}(hst_admin_[A-Za-z0-9_-]+)$/m))[1];
}

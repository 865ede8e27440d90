/**
 * Prints the PBKDF2 hash of a password (or of a console token) for the
 * console configuration's `users[].passwordHash` or `consoleTokenHash`.
 * The password is read from the first line of standard input, so it stays
 * out of the shell history and the process list.
 *
 * ```sh
 * deno run console/tools/password_hash.ts [--iterations 600000]
 * node --import tsx console/tools/password_hash.ts < password.txt
 * ```
 *
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { hashPassword } from "../mod.ts";

const { values } = parseArgs({ args: process.argv.slice(2), options: { iterations: { type: "string" } } });
if (process.stdin.isTTY) process.stderr.write("Password (one line): ");
const lines = createInterface({ input: process.stdin, terminal: false });
const password = await new Promise<string>((resolve) => {
  lines.once("line", resolve);
  lines.once("close", () => resolve(""));
});
lines.close();
try {
  console.log(
    await hashPassword(password, values.iterations === undefined ? undefined : Number(values.iterations)),
  );
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 2;
}

/**
 * Creates a management-agent token: prints the token once, and the entry (its
 * salted hash) to add to the `tokens` array of the agent configuration.
 *
 * ```sh
 * deno run agent/token_new.ts <id> <READ|OPERATE|ADMIN> [--console]
 * node --import tsx agent/token_new.ts <id> <READ|OPERATE|ADMIN> [--console]
 * ```
 *
 * `--console` marks a trusted console, which may name the person it acts for.
 *
 * @module
 */
import process from "node:process";
import { type Role, ROLES } from "./api/roles.ts";
import { newToken } from "./tokens.ts";

const USAGE = `Usage: token_new <id> <${ROLES.join("|")}> [--console]`;

async function main(args: string[]): Promise<number> {
  const trustedConsole = args.includes("--console");
  const positional = args.filter((arg) => arg !== "--console");
  if (positional.length !== 2 || positional.some((arg) => arg.startsWith("-"))) {
    console.error(USAGE);
    return 2;
  }
  const [id, role] = positional;
  try {
    const { token, entry } = await newToken(id, role as Role, { console: trustedConsole });
    console.log(
      `Token "${id}" (${role}${
        trustedConsole ? ", console" : ""
      }). It is shown only this once; store it now:`,
    );
    console.log(token);
    console.log();
    console.log(`Add this entry to the "tokens" array of the agent configuration:`);
    console.log(JSON.stringify(entry));
    return 0;
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));

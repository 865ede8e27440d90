/**
 * Request bodies: read once, bounded, then parsed as JSON against a zod
 * schema. Every way a body can be wrong is a clean 4xx: 415 for another
 * media type, 413 past the limit, 400 for bytes that are not UTF-8 JSON or
 * do not match the schema. Fields the schema does not know are dropped.
 *
 * @module
 */
import type { Context } from "hono";
import type { z } from "zod";
import type { AgentEnv } from "./_env.ts";
import { AgentError } from "./_errors.ts";

/** A body read by {@linkcode readBody}. */
export interface ReadBody {
  /** The body, or its first `maxBytes` bytes when it is too large. */
  bytes: Uint8Array;
  /** Why the body cannot be used: REQUEST_TOO_LARGE, or INVALID_REQUEST when reading it failed. */
  error?: AgentError;
}

/**
 * Past the limit a body is still read and dropped up to this many bytes, so
 * the client, which is still sending, reads the 413 instead of a reset
 * connection. Larger bodies are cut off.
 */
const DRAIN_BYTES = 4 * 1024 * 1024;

/** Reads `request`'s body, keeping at most `maxBytes` bytes. Never throws. */
export async function readBody(request: Request, maxBytes: number): Promise<ReadBody> {
  const tooLarge = () =>
    new AgentError("REQUEST_TOO_LARGE", `The request body exceeds the limit of ${maxBytes} bytes`);
  if (request.body === null) return { bytes: new Uint8Array(0) };
  const declared = Number(request.headers.get("Content-Length"));
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let seen = 0;
  try {
    if (declared > maxBytes + DRAIN_BYTES) {
      await reader.cancel();
      return { bytes: new Uint8Array(0), error: tooLarge() };
    }
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      seen += read.value.length;
      if (kept < maxBytes) {
        const part = read.value.subarray(0, maxBytes - kept);
        chunks.push(part);
        kept += part.length;
      }
      if (seen > maxBytes + DRAIN_BYTES) {
        await reader.cancel();
        break;
      }
    }
  } catch (error) {
    return {
      bytes: concat(chunks, kept),
      error: new AgentError("INVALID_REQUEST", "Cannot read the request body", { cause: error }),
    };
  }
  const bytes = concat(chunks, kept);
  return seen > maxBytes || declared > maxBytes ? { bytes, error: tooLarge() } : { bytes };
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/** True for `application/json`, with no charset or a UTF-8 one. */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type, ...parameters] = contentType.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json") return false;
  return parameters.every((p) => !p.startsWith("charset=") || /^charset="?utf-8"?$/.test(p));
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The body of the request in `c` (read by the audit trail), parsed and validated against `schema`. */
export function parseJsonBody<T extends z.ZodType>(c: Context<AgentEnv>, schema: T): z.output<T> {
  const contentType = c.req.header("Content-Type");
  if (!isJson(contentType)) {
    throw new AgentError(
      "UNSUPPORTED_MEDIA_TYPE",
      `The body must be application/json (UTF-8), got ${
        contentType === undefined ? "no Content-Type" : `'${contentType.slice(0, 100)}'`
      }`,
    );
  }
  const { body, bodyError } = c.get("trail");
  if (bodyError !== undefined) throw bodyError;
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch (error) {
    throw new AgentError("INVALID_REQUEST", `The body is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      `${issue.path.length === 0 ? "body" : issue.path.join(".")}: ${issue.message}`
    );
    throw new AgentError("INVALID_REQUEST", `Invalid request body: ${problems.join("; ")}`);
  }
  return parsed.data;
}

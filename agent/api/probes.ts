/**
 * `GET /health` (liveness) and `GET /ready` (readiness); both answer
 * without a token. Not ready is 503 with the error body (code
 * INVALID_STATE) plus the same fields as the ready answer.
 *
 * @module
 */
import { z } from "zod";
import { ErrorResponseSchema } from "./errors.ts";
import { INDEX_STATES } from "./index_snapshot.ts";

export const HealthResponseSchema = z.object({ status: z.literal("UP") });

export type HealthResponse = z.infer<typeof HealthResponseSchema>;

const readyFields = {
  indexes: z.array(z.object({ indexName: z.string(), state: z.enum(INDEX_STATES) })),
};

export const ReadyResponseSchema = z.object({ status: z.literal("READY"), ...readyFields });

export type ReadyResponse = z.infer<typeof ReadyResponseSchema>;

export const NotReadyResponseSchema = ErrorResponseSchema.extend({
  code: z.literal("INVALID_STATE"),
  status: z.literal("NOT_READY"),
  ...readyFields,
});

export type NotReadyResponse = z.infer<typeof NotReadyResponseSchema>;

/**
 * `POST /api/v1/actions/flush` and `/compact`. An action runs for real and
 * the response comes when it is done, with one result per index. All
 * targets COMPLETED: 200 with {@linkcode ActionResponseSchema}. Any FAILED:
 * 500 with {@linkcode ActionFailureSchema}, which is the error body plus
 * the same per-index results.
 *
 * A `requestId` makes the call idempotent: repeating it (same caller, same
 * action, same target) replays the stored response without running again.
 *
 * @module
 */
import { z } from "zod";
import { ErrorResponseSchema } from "./errors.ts";
import { REQUEST_ID_PATTERN } from "./headers.ts";

export const ACTIONS = ["FLUSH", "COMPACT"] as const;

export type Action = typeof ACTIONS[number];

export const ActionRequestSchema = z.object({
  requestId: z.string().regex(REQUEST_ID_PATTERN).describe(
    "Idempotency key chosen by the client: 1–128 characters of [A-Za-z0-9._:-]",
  ),
  indexName: z.string().min(1).optional().describe("The index to act on; omit for every open index"),
});

export type ActionRequest = z.infer<typeof ActionRequestSchema>;

export const ActionResultSchema = z.object({
  indexName: z.string(),
  status: z.enum(["COMPLETED", "FAILED"]),
  message: z.string().optional().describe("Why it failed"),
  durationMs: z.number().nonnegative(),
});

export type ActionResult = z.infer<typeof ActionResultSchema>;

const actionFields = {
  requestId: z.string(),
  action: z.enum(ACTIONS),
  status: z.enum(["COMPLETED", "FAILED"]),
  message: z.string(),
  results: z.array(ActionResultSchema).describe("One per target index, in name order"),
  capturedAt: z.string(),
};

export const ActionResponseSchema = z.object(actionFields);

export type ActionResponse = z.infer<typeof ActionResponseSchema>;

export const ActionFailureSchema = ErrorResponseSchema.extend({
  ...actionFields,
  code: z.literal("INTERNAL_ERROR"),
  requestId: z.string(),
  status: z.literal("FAILED"),
}).describe("An action that failed on at least one index: the error body plus the per-index results");

export type ActionFailure = z.infer<typeof ActionFailureSchema>;

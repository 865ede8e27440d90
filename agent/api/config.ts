/**
 * `GET` and `PATCH /api/v1/config?indexName=`: an index's runtime tuning.
 *
 * A PATCH changes the named keys all together or not at all. With
 * `dryRun` it only validates. With `expectedRevision` it applies (or
 * validates) only if the configuration is still at that revision, so two
 * operators cannot overwrite each other unknowingly. Success is 200 with
 * the configuration after the call; a rejected change is 400 with one
 * problem per offending key ({@linkcode ConfigPatchFailureSchema}).
 *
 * @module
 */
import { z } from "zod";
import { ErrorResponseSchema } from "./errors.ts";

const values = z.record(z.string(), z.number().int().nonnegative());

export const ConfigViewSchema = z.object({
  indexName: z.string(),
  original: values.describe("Values when the index was opened"),
  current: values.describe("Values now"),
  revision: z.number().int().nonnegative().describe("Bumped by every applied change"),
  supportedKeys: z.array(z.string()).describe("The keys a PATCH may change"),
  capturedAt: z.string(),
});

export type ConfigView = z.infer<typeof ConfigViewSchema>;

export const ConfigPatchRequestSchema = z.object({
  values: z.record(z.string().min(1), z.number())
    .refine((v) => Object.keys(v).length > 0, "must name at least one key")
    .describe("New values by key; keys not named keep their value"),
  dryRun: z.boolean().default(false).describe("Validate only"),
  expectedRevision: z.number().int().nonnegative().optional().describe(
    "Apply only if the configuration is at this revision (else 409 REVISION_CONFLICT)",
  ),
});

export type ConfigPatchRequest = z.input<typeof ConfigPatchRequestSchema>;

/** One rejected key. Cross-key rules name the key whose value breaks them. */
export const ConfigProblemSchema = z.object({
  key: z.string(),
  message: z.string(),
});

export type ConfigProblem = z.infer<typeof ConfigProblemSchema>;

export const ConfigPatchResponseSchema = z.object({
  indexName: z.string(),
  dryRun: z.boolean(),
  applied: z.boolean().describe("False for a dry run"),
  problems: z.array(ConfigProblemSchema).describe("Empty: the change is valid"),
  config: ConfigViewSchema.describe("The configuration after the call (unchanged by a dry run)"),
});

export type ConfigPatchResponse = z.infer<typeof ConfigPatchResponseSchema>;

export const ConfigPatchFailureSchema = ErrorResponseSchema.extend({
  problems: z.array(ConfigProblemSchema).optional().describe(
    "One per offending key, when the values were checked (INVALID_REQUEST, CONFIG_KEY_NOT_SUPPORTED)",
  ),
}).describe("A rejected configuration change: the error body, plus one problem per key");

export type ConfigPatchFailure = z.infer<typeof ConfigPatchFailureSchema>;

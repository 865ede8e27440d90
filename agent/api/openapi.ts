/**
 * Builds the OpenAPI 3.1 document of the management API from
 * {@linkcode ROUTES} and the zod schemas, so the served description is the
 * contract the agent validates against. Schemas are JSON Schema 2020-12,
 * which OpenAPI 3.1 uses as is; request bodies are described as a client
 * may send them (defaults optional), responses as the agent writes them.
 * Objects do not forbid additional properties: clients ignore fields they
 * do not know, and so may future versions of the agent.
 *
 * @module
 */
import { z } from "zod";
import {
  ActionFailureSchema,
  ActionRequestSchema,
  ActionResponseSchema,
  ActionResultSchema,
} from "./actions.ts";
import { AuditEntrySchema, AuditPageSchema, AuditVerificationSchema } from "./audit.ts";
import {
  ConfigPatchFailureSchema,
  ConfigPatchRequestSchema,
  ConfigPatchResponseSchema,
  ConfigProblemSchema,
  ConfigViewSchema,
} from "./config.ts";
import { ErrorResponseSchema } from "./errors.ts";
import { ACTOR_HEADER, REQUEST_ID_HEADER } from "./headers.ts";
import {
  CacheMetricsSchema,
  HistogramSnapshotSchema,
  IndexSnapshotSchema,
  SegmentMetricsSchema,
  TimestampSchema,
} from "./index_snapshot.ts";
import { HealthResponseSchema, NotReadyResponseSchema, ReadyResponseSchema } from "./probes.ts";
import { NodeInfoSchema, NodeReportSchema } from "./report.ts";
import { ROUTES, type RouteSpec } from "./routes.ts";

/** Named request schemas, described as input. */
const REQUEST_COMPONENTS: Record<string, z.ZodType> = {
  ActionRequest: ActionRequestSchema,
  ConfigPatchRequest: ConfigPatchRequestSchema,
};

/** Named response schemas, described as output. */
const RESPONSE_COMPONENTS: Record<string, z.ZodType> = {
  ErrorResponse: ErrorResponseSchema,
  Timestamp: TimestampSchema,
  CacheMetrics: CacheMetricsSchema,
  SegmentMetrics: SegmentMetricsSchema,
  HistogramSnapshot: HistogramSnapshotSchema,
  IndexSnapshot: IndexSnapshotSchema,
  NodeInfo: NodeInfoSchema,
  NodeReport: NodeReportSchema,
  ActionResult: ActionResultSchema,
  ActionResponse: ActionResponseSchema,
  ActionFailure: ActionFailureSchema,
  ConfigView: ConfigViewSchema,
  ConfigProblem: ConfigProblemSchema,
  ConfigPatchResponse: ConfigPatchResponseSchema,
  ConfigPatchFailure: ConfigPatchFailureSchema,
  AuditEntry: AuditEntrySchema,
  AuditPage: AuditPageSchema,
  AuditVerification: AuditVerificationSchema,
  HealthResponse: HealthResponseSchema,
  ReadyResponse: ReadyResponseSchema,
  NotReadyResponse: NotReadyResponseSchema,
};

type JsonSchema = Record<string, unknown>;

/** Options of {@linkcode buildOpenApiDocument}. */
export interface OpenApiOptions {
  /** The `info.version`: the HestiaStore version the agent runs. */
  version: string;
  /** The routes to describe. @default ROUTES */
  routes?: readonly RouteSpec[];
}

/** An OpenAPI 3.1 document, as plain JSON data. */
export type OpenApiDocument = Record<string, unknown>;

const COMPONENT_PREFIX = "#/components/schemas/";

/** Leaves objects open: zod's output mode closes them, which would make every added field a breaking change. */
function tidy(ctx: { jsonSchema: JsonSchema }): void {
  if (ctx.jsonSchema.additionalProperties === false) delete ctx.jsonSchema.additionalProperties;
}

function components(named: Record<string, z.ZodType>, io: "input" | "output"): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io,
    uri: (id) => `${COMPONENT_PREFIX}${id}`,
    override: tidy,
  });
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas as Record<string, JsonSchema>;
}

function inline(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const json = z.toJSONSchema(schema, { io, override: tidy }) as JsonSchema;
  delete json.$schema;
  return json;
}

function schemaOf(schema: z.ZodType, io: "input" | "output", names: Map<z.ZodType, string>): JsonSchema {
  const name = names.get(schema);
  return name === undefined ? inline(schema, io) : { $ref: `${COMPONENT_PREFIX}${name}` };
}

const RESPONSE_HEADERS: Record<number, Record<string, JsonSchema>> = {
  401: { "WWW-Authenticate": { description: 'Bearer realm="hestiastore"', schema: { type: "string" } } },
  429: {
    "Retry-After": { description: "Seconds until a retry can succeed", schema: { type: "integer" } },
    RateLimit: {
      description: "IETF draft: remaining quota and seconds to reset",
      schema: { type: "string" },
    },
    "RateLimit-Policy": { description: "IETF draft: quota and window", schema: { type: "string" } },
  },
};

function operation(route: RouteSpec, names: Map<z.ZodType, string>): JsonSchema {
  const parameters: JsonSchema[] = [{
    name: REQUEST_ID_HEADER,
    in: "header",
    required: false,
    description: "Correlation id, echoed in error bodies",
    schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
  }];
  if (route.mutating) {
    parameters.push({
      name: ACTOR_HEADER,
      in: "header",
      required: false,
      description: "Who a console token acts for, recorded in the audit trail; ignored from other tokens",
      schema: { type: "string", minLength: 1, maxLength: 128 },
    });
  }
  for (const [name, field] of Object.entries(route.query?.shape ?? {})) {
    const schema = field as z.ZodType;
    parameters.push({
      name,
      in: "query",
      required: !schema.safeParse(undefined).success,
      schema: inline(schema, "input"),
    });
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    const mediaType = spec.mediaType ?? "application/json";
    const schema = spec.schema === undefined ? { type: "string" } : schemaOf(spec.schema, "output", names);
    const headers = RESPONSE_HEADERS[Number(status)];
    responses[status] = {
      description: spec.description,
      content: { [mediaType]: { schema } },
      ...(headers === undefined ? {} : { headers }),
    };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    "x-hestiastore-role": route.role ?? "NONE",
    security: route.role === null ? [] : [{ bearer: [] }],
    parameters,
    ...(route.body === undefined ? {} : {
      requestBody: {
        required: true,
        content: { "application/json": { schema: schemaOf(route.body, "input", names) } },
      },
    }),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of `routes`: every path and method, the least
 * role of each (as `x-hestiastore-role`: READ, OPERATE, ADMIN or NONE),
 * bearer security, and every request and response schema.
 */
export function buildOpenApiDocument(options: OpenApiOptions): OpenApiDocument {
  const names = new Map<z.ZodType, string>();
  for (const named of [REQUEST_COMPONENTS, RESPONSE_COMPONENTS]) {
    for (const [name, schema] of Object.entries(named)) names.set(schema, name);
  }
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of options.routes ?? ROUTES) {
    paths[route.path] ??= {};
    paths[route.path][route.method.toLowerCase()] = operation(route, names);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "HestiaStore management agent",
      version: options.version,
      description: "Reports and manages the indexes of one HestiaStore node. Every failure answers with " +
        "the ErrorResponse body.",
    },
    paths,
    components: {
      schemas: { ...components(REQUEST_COMPONENTS, "input"), ...components(RESPONSE_COMPONENTS, "output") },
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "An agent token; its role (READ < OPERATE < ADMIN) decides what it may call",
        },
      },
    },
  };
}

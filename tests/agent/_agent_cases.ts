/**
 * The behaviour cases of the management agent (the reference
 * ManagementAgentServerTest, adapted), written against a `send` function so
 * the same cases run in process (`app.request`) and over a real socket.
 *
 * @module
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { Validator } from "@seriousme/openapi-schema-validator";
import {
  ACTION_COMPACT,
  ACTION_FLUSH,
  ActionFailureSchema,
  ActionResponseSchema,
  AUDIT,
  CONFIG,
  ConfigPatchResponseSchema,
  ConfigViewSchema,
  HEALTH,
  METRICS,
  NodeReportSchema,
  OPENAPI,
  READY,
  REPLAYED_HEADER,
  REPORT,
  ROUTES,
} from "../../agent/api/mod.ts";
import { TUNABLE_KEYS } from "../../engine/mod.ts";
import {
  assertAudited,
  assertError,
  auditOf,
  type Fixture,
  type FixtureOptions,
  json,
  jsonRequest,
  until,
} from "./_agent_fixture.ts";

export type Send = (path: string, init?: RequestInit) => Promise<Response>;

export interface AgentCase {
  name: string;
  options?: FixtureOptions;
  run(send: Send, fixture: Fixture): Promise<void>;
}

const IS_DENO = "Deno" in globalThis;

/** Every key path of a JSON value; array elements are described by their first element. */
function keyPaths(value: unknown, prefix = ""): string[] {
  if (Array.isArray(value)) return value.length === 0 ? [prefix] : keyPaths(value[0], `${prefix}[]`);
  if (value === null || typeof value !== "object") return [prefix];
  return Object.entries(value).flatMap(([key, child]) => keyPaths(child, prefix ? `${prefix}.${key}` : key));
}

function flush(requestId: string, indexName?: string): RequestInit {
  return jsonRequest("POST", indexName === undefined ? { requestId } : { requestId, indexName });
}

const PATCH_CONFIG = `${CONFIG}?indexName=index-1`;

/** Sends a configuration change of index-1: `body` as JSON, or as is when it is a string. */
function patchConfig(send: Send, body: unknown): Promise<Response> {
  return send(PATCH_CONFIG, jsonRequest("PATCH", body));
}

export const AGENT_CASES: AgentCase[] = [
  {
    name: "report lists both indexes with node information and full snapshots",
    async run(send, fixture) {
      await fixture.a.inner.flush();
      const body = await json(await send(REPORT));
      const report = NodeReportSchema.parse(body);
      assertEquals(report.node.nodeId, "node-1");
      assertEquals(report.node.nodeName, "first");
      assertEquals(report.node.runtime.name, IS_DENO ? "deno" : "node");
      assert(report.node.memory.heapUsedBytes > 0 && report.node.memory.rssBytes > 0);
      assertEquals(report.capturedAt, new Date(fixture.now).toISOString());
      assertEquals(report.indexes.map((i) => i.indexName), ["index-1", "index-2"]);
      const first = report.indexes[0];
      assertEquals(first.state, "READY");
      assertEquals(first.openedAt.epochMs, fixture.a.inner.openedAt);
      assertEquals(first.operations.puts, 50);
      assertEquals(first.latency.get.buckets.at(-1)?.le, "+Inf");
      const snapshot = fixture.a.metrics();
      assertEquals(first.writePath, snapshot.writePath);
      assertEquals(first.wal, snapshot.wal);
      // Every field of the engine's snapshot reaches the client, and the schema knows every one.
      const raw = (body.indexes as unknown[])[0];
      assertEquals(keyPaths(raw).sort(), keyPaths(JSON.parse(JSON.stringify(snapshot))).sort());
      assertEquals(keyPaths(report.indexes[0]).sort(), keyPaths(raw).sort());
    },
  },
  {
    name: "flush of every index runs on both and reports each",
    async run(send, fixture) {
      const body = ActionResponseSchema.parse(await json(await send(ACTION_FLUSH, flush("flush-all"))));
      assertEquals([body.requestId, body.action, body.status], ["flush-all", "FLUSH", "COMPLETED"]);
      assertStringIncludes(body.message, "2");
      assertEquals(body.results.map((r) => [r.indexName, r.status]), [
        ["index-1", "COMPLETED"],
        ["index-2", "COMPLETED"],
      ]);
      assertEquals([fixture.a.flushes, fixture.b.flushes], [1, 1]);
      assertEquals(fixture.a.metrics().maintenance.flushRequests, 1);
      assertAudited(fixture.audit, ACTION_FLUSH, "SUCCEEDED", 200);
    },
  },
  {
    name: "compact of one index runs on it alone",
    async run(send, fixture) {
      const before = fixture.b.metrics().maintenance.compactRequests;
      const body = ActionResponseSchema.parse(
        await json(
          await send(ACTION_COMPACT, jsonRequest("POST", { requestId: "c-1", indexName: "index-2" })),
        ),
      );
      assertEquals([body.action, body.status], ["COMPACT", "COMPLETED"]);
      assertStringIncludes(body.message, "1");
      assertEquals(body.results.map((r) => r.indexName), ["index-2"]);
      assertEquals([fixture.a.compactions, fixture.b.compactions], [0, 1]);
      assert(fixture.b.metrics().maintenance.compactRequests > before, "the engine saw the compaction");
    },
  },
  {
    name: "a repeated requestId replays the stored response without running again",
    async run(send, fixture) {
      const first = await send(ACTION_FLUSH, flush("once", "index-1"));
      const firstBody = await first.text();
      fixture.now += 5000;
      const again = await send(ACTION_FLUSH, flush("once", "index-1"));
      assertEquals(again.status, 200);
      assertEquals(await again.text(), firstBody);
      assertEquals(again.headers.get(REPLAYED_HEADER), "true");
      assertEquals(first.headers.get(REPLAYED_HEADER), null);
      assertEquals(fixture.a.flushes, 1);
      assertAudited(fixture.audit, ACTION_FLUSH, "REPLAYED", 200);
    },
  },
  {
    name: "the store of results is bounded: the oldest requestId runs again",
    options: { deps: { maxStoredResults: 2 } },
    async run(send, fixture) {
      for (const id of ["req-1", "req-2", "req-3", "req-1"]) {
        await json(await send(ACTION_FLUSH, flush(id, "index-1")));
      }
      assertEquals(fixture.a.flushes, 4);
      await json(await send(ACTION_FLUSH, flush("req-3", "index-1")));
      assertEquals(fixture.a.flushes, 4);
    },
  },
  {
    name: "concurrent duplicates share one execution",
    async run(send, fixture) {
      let release!: () => void;
      fixture.a.gate = new Promise((resolve) => release = resolve);
      const first = send(ACTION_FLUSH, flush("dup", "index-1"));
      await until(() => fixture.a.flushes === 1);
      const second = send(ACTION_FLUSH, flush("dup", "index-1"));
      await new Promise((r) => setTimeout(r, 20));
      release();
      const [one, two] = await Promise.all([first, second]);
      assertEquals(await one.text(), await two.text());
      assertEquals([one.status, two.status], [200, 200]);
      assertEquals(two.headers.get(REPLAYED_HEADER), "true");
      assertEquals(fixture.a.flushes, 1);
    },
  },
  {
    name: "a failure on one index is 500 with per-index results, replayed identically, run once",
    async run(send, fixture) {
      fixture.b.failFlush = new Error("disk on fire");
      const first = await assertError(await send(ACTION_FLUSH, flush("partial")), 500, "INTERNAL_ERROR");
      const failure = ActionFailureSchema.parse(first);
      assertEquals(failure.status, "FAILED");
      assertStringIncludes(failure.message, "1 of 2");
      assertStringIncludes(failure.message, "'index-2': disk on fire");
      assertEquals(failure.results.map((r) => [r.indexName, r.status, r.message]), [
        ["index-1", "COMPLETED", undefined],
        ["index-2", "FAILED", "disk on fire"],
      ]);
      const second = await assertError(await send(ACTION_FLUSH, flush("partial")), 500, "INTERNAL_ERROR");
      assertEquals(second, first);
      assertEquals([fixture.a.flushes, fixture.b.flushes], [1, 1]);
      const records = auditOf(fixture.audit, ACTION_FLUSH);
      assertEquals(records.map((r) => [r.phase, r.outcome, r.code]), [
        ["intent", undefined, undefined],
        ["outcome", "FAILED", "INTERNAL_ERROR"],
        ["intent", undefined, undefined],
        ["outcome", "REPLAYED", "INTERNAL_ERROR"],
      ]);
    },
  },
  {
    name: "an unknown index is 404 INDEX_NOT_FOUND echoing the requestId; nothing runs",
    async run(send, fixture) {
      const body = await assertError(
        await send(ACTION_COMPACT, flush("lost", "nope")),
        404,
        "INDEX_NOT_FOUND",
      );
      assertEquals(body.requestId, "lost");
      assertEquals([fixture.a.compactions, fixture.b.compactions], [0, 0]);
      assertAudited(fixture.audit, ACTION_COMPACT, "REJECTED", 404);
    },
  },
  {
    name: "the same requestId for another target is 409 REQUEST_ID_CONFLICT",
    async run(send, fixture) {
      await json(await send(ACTION_FLUSH, flush("shared", "index-1")));
      await assertError(await send(ACTION_FLUSH, flush("shared", "index-2")), 409, "REQUEST_ID_CONFLICT");
      await assertError(await send(ACTION_FLUSH, flush("shared")), 409, "REQUEST_ID_CONFLICT");
      assertEquals([fixture.a.flushes, fixture.b.flushes], [1, 0]);
    },
  },
  {
    name: "config GET returns the runtime keys; indexName is required and must exist",
    async run(send) {
      const view = ConfigViewSchema.parse(await json(await send(`${CONFIG}?indexName=index-1`)));
      assertEquals(view.indexName, "index-1");
      assertEquals(view.supportedKeys, [...TUNABLE_KEYS]);
      assertEquals(Object.keys(view.current).sort(), [...TUNABLE_KEYS].sort());
      assertEquals(view.original, view.current);
      assertEquals(view.revision, 0);
      for (const key of ["backgroundMaintenanceAutoEnabled", "diskIoBufferSize", "chunkKeyLimit"]) {
        assert(!(key in view.current), `${key} is not a runtime key`);
      }
      await assertError(await send(CONFIG), 400, "INVALID_REQUEST");
      await assertError(await send(`${CONFIG}?indexName=`), 400, "INVALID_REQUEST");
      await assertError(await send(`${CONFIG}?indexName=a&indexName=b`), 400, "INVALID_REQUEST");
      await assertError(await send(`${CONFIG}?indexName=nope`), 404, "INDEX_NOT_FOUND");
    },
  },
  {
    name: "config PATCH of a key that cannot be tuned is 400 CONFIG_KEY_NOT_SUPPORTED",
    async run(send, fixture) {
      for (
        const key of [
          "forbidden.key",
          "maxNumberOfKeysInSegmentWriteCache",
          "backgroundMaintenanceAutoEnabled",
        ]
      ) {
        const body = await assertError(
          await patchConfig(send, { values: { [key]: 5 } }),
          400,
          "CONFIG_KEY_NOT_SUPPORTED",
        );
        assertEquals((body.problems as { key: string }[]).map((p) => p.key), [key]);
        assertStringIncludes(body.message as string, key);
      }
      await assertError(
        await send(CONFIG, jsonRequest("PATCH", { values: { segmentCacheLimit: 5 } })),
        400,
        "INVALID_REQUEST",
      );
      assertEquals(fixture.a.config().revision, 0);
      assertAudited(fixture.audit, CONFIG, "REJECTED", 400);
    },
  },
  {
    name: "config PATCH dry run validates without applying",
    async run(send, fixture) {
      const body = ConfigPatchResponseSchema.parse(
        await json(
          await patchConfig(send, { values: { segmentCacheLimit: 3 }, dryRun: true }),
        ),
      );
      assertEquals([body.dryRun, body.applied, body.problems], [true, false, []]);
      assertEquals(body.config.revision, 0);
      assertEquals(fixture.a.config().current.segmentCacheLimit, 256);
      assertAudited(fixture.audit, PATCH_CONFIG, "SUCCEEDED", 200);
    },
  },
  {
    name: "config PATCH reports every invalid value and broken cross-key rule per key",
    async run(send, fixture) {
      const body = await assertError(
        await patchConfig(send, {
          values: { segmentCacheLimit: 0, segmentWriteCacheKeyLimit: 30000 },
          dryRun: true,
        }),
        400,
        "INVALID_REQUEST",
      );
      const problems = body.problems as { key: string; message: string }[];
      assertEquals(problems.map((p) => p.key).sort(), ["segmentCacheLimit"]);
      assertMatch(body.message as string, /'segmentCacheLimit' must be between 1 and/);
      const cross = await assertError(
        await patchConfig(send, { values: { segmentWriteCacheKeyLimit: 30000 } }),
        400,
        "INVALID_REQUEST",
      );
      assertEquals((cross.problems as { key: string }[]).map((p) => p.key), [
        "segmentWriteCacheKeyLimitDuringMaintenance",
      ]);
      assertStringIncludes(cross.message as string, "must be greater than 'segmentWriteCacheKeyLimit'");
      assertEquals(fixture.a.config().revision, 0);
      assertAudited(fixture.audit, PATCH_CONFIG, "REJECTED", 400);
    },
  },
  {
    name: "config PATCH applies atomically and a stale expectedRevision is 409 REVISION_CONFLICT",
    async run(send, fixture) {
      const applied = ConfigPatchResponseSchema.parse(
        await json(
          await patchConfig(send, {
            values: { segmentCacheLimit: 4, chunkCacheLimit: 100 },
            expectedRevision: 0,
          }),
        ),
      );
      assertEquals([applied.applied, applied.config.revision], [true, 1]);
      assertEquals([applied.config.current.segmentCacheLimit, applied.config.original.segmentCacheLimit], [
        4,
        256,
      ]);
      assertEquals(fixture.a.config().current.chunkCacheLimit, 100);
      assertEquals(fixture.a.metrics().segmentCache.limit, 4);
      assertAudited(fixture.audit, PATCH_CONFIG, "SUCCEEDED", 200);
      const stale = await assertError(
        await patchConfig(send, { values: { segmentCacheLimit: 9 }, expectedRevision: 0 }),
        409,
        "REVISION_CONFLICT",
      );
      assertEquals([stale.expectedRevision, stale.currentRevision], [0, 1]);
      assertEquals(fixture.a.config().current.segmentCacheLimit, 4);
      assertAudited(fixture.audit, PATCH_CONFIG, "REJECTED", 409);
    },
  },
  {
    name: "a 1.1 MB body is 413 REQUEST_TOO_LARGE and nothing runs",
    async run(send, fixture) {
      const huge = JSON.stringify({ requestId: "big", padding: "x".repeat(1_100_000) });
      await assertError(await send(ACTION_FLUSH, jsonRequest("POST", huge)), 413, "REQUEST_TOO_LARGE");
      const patch = JSON.stringify({ values: { segmentCacheLimit: 4 }, padding: "x".repeat(1_100_000) });
      await assertError(await patchConfig(send, patch), 413, "REQUEST_TOO_LARGE");
      assertEquals([fixture.a.flushes, fixture.a.config().revision], [0, 0]);
      assertAudited(fixture.audit, ACTION_FLUSH, "REJECTED", 413);
    },
  },
  {
    name:
      "malformed JSON, a bad requestId and a wrong content type are clean 4xx; unknown fields are ignored",
    async run(send, fixture) {
      await assertError(
        await send(ACTION_FLUSH, jsonRequest("POST", '{"requestId": ')),
        400,
        "INVALID_REQUEST",
      );
      await assertError(await send(ACTION_FLUSH, jsonRequest("POST", "[]")), 400, "INVALID_REQUEST");
      await assertError(await send(ACTION_FLUSH, jsonRequest("POST", {})), 400, "INVALID_REQUEST");
      await assertError(await send(ACTION_FLUSH, flush("bad id!")), 400, "INVALID_REQUEST");
      await assertError(await send(ACTION_FLUSH, flush("x".repeat(129))), 400, "INVALID_REQUEST");
      await assertError(
        await send(ACTION_FLUSH, {
          method: "POST",
          body: '{"requestId":"r"}',
          headers: { "Content-Type": "text/plain" },
        }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      );
      await assertError(await send(ACTION_FLUSH, { method: "POST" }), 415, "UNSUPPORTED_MEDIA_TYPE");
      await assertError(
        await send(ACTION_FLUSH, {
          method: "POST",
          body: new Uint8Array([0x7b, 0xff, 0x7d]),
          headers: { "Content-Type": "application/json" },
        }),
        400,
        "INVALID_REQUEST",
      );
      assertEquals(fixture.a.flushes, 0);
      const body = await json(
        await send(
          ACTION_FLUSH,
          jsonRequest("POST", { requestId: "extra", indexName: "index-1", future: { x: 1 } }),
        ),
      );
      assertEquals(body.status, "COMPLETED");
      await json(
        await send(
          PATCH_CONFIG,
          jsonRequest("PATCH", { values: { segmentCacheLimit: 5 }, dryRun: true, note: "hi" }, {
            "Content-Type": "application/json; charset=utf-8",
          }),
        ),
      );
    },
  },
  {
    name: "routing is exact: unknown paths are 404 NOT_FOUND, wrong methods 405 with Allow",
    async run(send) {
      for (
        const path of ["/api/v1/reportXYZ", "/api/v1/report/", "/api/v1", "/", "/api/v2/report", "/x?y=%zz"]
      ) {
        await assertError(await send(path), 404, "NOT_FOUND");
      }
      const post = await send(REPORT, jsonRequest("POST", {}));
      assertEquals(post.headers.get("Allow"), "GET, HEAD");
      await assertError(post, 405, "METHOD_NOT_ALLOWED");
      const get = await send(ACTION_FLUSH);
      assertEquals(get.headers.get("Allow"), "POST");
      await assertError(get, 405, "METHOD_NOT_ALLOWED");
      const remove = await send(CONFIG, { method: "DELETE" });
      assertEquals(remove.headers.get("Allow"), "GET, PATCH, HEAD");
      await assertError(remove, 405, "METHOD_NOT_ALLOWED");
      await assertError(await send(HEALTH, { method: "OPTIONS" }), 405, "METHOD_NOT_ALLOWED");
      const head = await send(REPORT, { method: "HEAD" });
      assertEquals([head.status, await head.text()], [200, ""]);
    },
  },
  {
    name: "a closed index is dropped from the report, /ready and /metrics",
    async run(send, fixture) {
      await fixture.b.inner.close();
      const report = NodeReportSchema.parse(await json(await send(REPORT)));
      assertEquals(report.indexes.map((i) => i.indexName), ["index-1"]);
      assertEquals((await json(await send(READY))).indexes, [{ indexName: "index-1", state: "READY" }]);
      const metrics = await (await send(METRICS)).text();
      assert(!metrics.includes('index="index-2"'), "a closed index is not exported");
      await assertError(await send(ACTION_FLUSH, flush("closed", "index-2")), 404, "INDEX_NOT_FOUND");
    },
  },
  {
    name: "indexes added to or removed from the map show at once",
    async run(send, fixture) {
      const third = await fixture.createIndex("index-3");
      fixture.indexes.set("index-3", third);
      let report = NodeReportSchema.parse(await json(await send(REPORT)));
      assertEquals(report.indexes.map((i) => i.indexName), ["index-1", "index-2", "index-3"]);
      await json(await send(ACTION_FLUSH, flush("third", "index-3")));
      assertEquals(third.flushes, 1);
      fixture.indexes.delete("index-1");
      report = NodeReportSchema.parse(await json(await send(REPORT)));
      assertEquals(report.indexes.map((i) => i.indexName), ["index-2", "index-3"]);
      await assertError(await send(`${CONFIG}?indexName=index-1`), 404, "INDEX_NOT_FOUND");
    },
  },
  {
    name: "/health is UP; /ready is READY until no index is open, then 503 NOT_READY",
    options: { tokens: { reader: { role: "READ" } } },
    async run(send, fixture) {
      assertEquals(await json(await send(HEALTH)), { status: "UP" });
      assertEquals((await json(await send(READY))).status, "READY");
      await fixture.a.inner.close();
      await fixture.b.inner.close();
      const body = await assertError(await send(READY), 503, "INVALID_STATE");
      assertEquals([body.status, body.indexes], ["NOT_READY", []]);
      assertEquals(await json(await send(HEALTH)), { status: "UP" });
    },
  },
  {
    name: "/metrics serves the exposition of every index and needs READ by default",
    options: { tokens: { reader: { role: "READ" } } },
    async run(send, fixture) {
      await assertError(await send(METRICS), 401, "UNAUTHORIZED");
      const response = await send(METRICS, { headers: { Authorization: `Bearer ${fixture.tokens.reader}` } });
      assertEquals(response.status, 200);
      assertMatch(response.headers.get("Content-Type")!, /^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      assertMatch(text, /^hestiastore_ops_put_total\{index="index-1"\} 50$/m);
      assertMatch(text, /^hestiastore_index_up\{index="index-2"\} 1$/m);
      const open = await send(METRICS, {
        headers: { Authorization: `Bearer ${fixture.tokens.reader}`, Accept: "application/openmetrics-text" },
      });
      assertMatch(await open.text(), /# EOF\n$/);
    },
  },
  {
    name: "/metrics can be open to scrapers without a token",
    options: { tokens: { reader: { role: "READ" } }, security: { metricsOpen: true } },
    async run(send) {
      assertEquals((await send(METRICS)).status, 200);
      await assertError(await send(REPORT), 401, "UNAUTHORIZED");
    },
  },
  {
    name: "with the exporter off /metrics is a 404 with the error shape and the rest is unchanged",
    options: { deps: { exporter: false } },
    async run(send) {
      await assertError(await send(METRICS), 404, "NOT_FOUND");
      await assertError(await send(METRICS, { method: "POST" }), 404, "NOT_FOUND");
      await json(await send(REPORT));
      const doc = await json(await send(OPENAPI));
      assert(!(METRICS in (doc.paths as Record<string, unknown>)));
    },
  },
  {
    name: "/openapi.json is valid OpenAPI 3.1 and lists every route with its role",
    async run(send) {
      const doc = await json(await send(OPENAPI));
      const validator = new Validator();
      const result = await validator.validate(doc);
      assert(result.valid, JSON.stringify(result.errors));
      assertEquals(validator.version, "3.1");
      const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
      const listed = Object.entries(paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m} ${path}`)
      );
      assertEquals(listed.sort(), ROUTES.map((r) => `${r.method.toLowerCase()} ${r.path}`).sort());
      assertEquals(listed.length, 11);
      for (const route of ROUTES) {
        const operation = paths[route.path][route.method.toLowerCase()];
        assertEquals(operation["x-hestiastore-role"], route.role ?? "NONE");
        assertEquals(operation.security, route.role === null ? [] : [{ bearer: [] }]);
        assert("200" in (operation.responses as object), `${route.method} ${route.path} has no 200`);
      }
      const components = doc.components as Record<string, Record<string, unknown>>;
      assertEquals(components.securitySchemes.bearer, {
        type: "http",
        scheme: "bearer",
        description: "An agent token; its role (READ < OPERATE < ADMIN) decides what it may call",
      });
      for (
        const name of ["NodeReport", "IndexSnapshot", "ActionRequest", "ConfigPatchRequest", "ErrorResponse"]
      ) {
        assert(name in components.schemas, `schema ${name} is missing`);
      }
    },
  },
  {
    name: "the audit trail pages every record and verifies its chain",
    async run(send, fixture) {
      await json(await send(ACTION_FLUSH, flush("audited")));
      await assertError(await send(ACTION_FLUSH, jsonRequest("POST", "{")), 400, "INVALID_REQUEST");
      const page = await json(await send(`${AUDIT}?offset=1&limit=2`));
      assertEquals([page.total, page.offset, page.limit], [4, 1, 2]);
      assertEquals(page.entries, JSON.parse(JSON.stringify(fixture.audit.entries.slice(1, 3))));
      assertEquals((page.entries as { seq: number }[]).map((e) => e.seq), [2, 3]);
      assertEquals((await json(await send(`${AUDIT}/verify`))).ok, true);
      await assertError(await send(`${AUDIT}?limit=0`), 400, "INVALID_REQUEST");
      await assertError(await send(`${AUDIT}?offset=-1`), 400, "INVALID_REQUEST");
      await assertError(await send(`${AUDIT}?limit=abc`), 400, "INVALID_REQUEST");
    },
  },
];

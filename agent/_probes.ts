/**
 * `GET /health` (the process serves requests) and `GET /ready` (at least
 * one open index, and every open index READY; 503 otherwise, so a load
 * balancer stops sending traffic to a node that is opening or failed).
 *
 * @module
 */
import type { Handler } from "hono";
import type { NotReadyResponse, ReadyResponse } from "./api/probes.ts";
import type { AgentEnv } from "./_env.ts";
import { errorBody } from "./_errors.ts";
import type { IndexDirectory } from "./_indexes.ts";

export function healthHandler(): Handler<AgentEnv> {
  return function health(c) {
    return c.json({ status: "UP" });
  };
}

export function readyHandler(indexes: IndexDirectory, clock: () => number): Handler<AgentEnv> {
  return function ready(c) {
    const states = indexes.open().map(([indexName, index]) => ({ indexName, state: index.state }));
    const notReady = states.filter((s) => s.state !== "READY");
    if (states.length > 0 && notReady.length === 0) {
      const body: ReadyResponse = { status: "READY", indexes: states };
      return c.json(body);
    }
    const message = states.length === 0
      ? "No index is open"
      : `Not every index is READY: ${notReady.map((s) => `'${s.indexName}' is ${s.state}`).join(", ")}`;
    const body: NotReadyResponse = {
      ...errorBody(c, clock, "INVALID_STATE", message),
      code: "INVALID_STATE",
      status: "NOT_READY",
      indexes: states,
    };
    return c.json(body, 503);
  };
}

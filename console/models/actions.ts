/**
 * Actions as the islands see them: the history list, the latest result,
 * and which buttons are waiting. Islands that import this module share one
 * instance in the browser bundle, so a click in the node table shows up in
 * the status banner and the history panel.
 *
 * @module
 */
import { signal } from "@preact/signals";
import type { ActionKind, ActionRecord, ConsoleError } from "../views.ts";
import { formatTarget } from "../_format.ts";
import { api } from "./api.ts";

/** The latest thing to tell the user about an action: its record, or why the console refused it. */
export type ActionNotice =
  | { kind: "sending"; what: string }
  | { kind: "record"; record: ActionRecord }
  | { kind: "refused"; what: string; error: ConsoleError };

/** Newest first. */
export const history = signal<ActionRecord[]>([]);
export const notice = signal<ActionNotice | null>(null);
/** Keys (see {@linkcode actionKey}) of the actions waiting for their result. */
export const pending = signal<ReadonlySet<string>>(new Set());

const PENDING_POLL_MS = 1000;

/** Identifies an action target for the pending state of its buttons. */
export function actionKey(nodeId: string, action: ActionKind, indexName: string | null): string {
  return `${nodeId}\u0000${action}\u0000${indexName ?? ""}`;
}

let seeded = false;

/** Replaces the history with the server's list. */
export function setHistory(records: ActionRecord[]): void {
  seeded = true;
  history.value = records;
}

/** Sets the history from a page's initial list, unless something set it already. */
export function seedHistory(records: ActionRecord[]): void {
  if (!seeded) setHistory(records);
}

/** Sends an action and follows it until it completes, fails or is refused. */
export async function runAction(
  nodeId: string,
  nodeName: string,
  action: ActionKind,
  indexName: string | null,
): Promise<void> {
  const key = actionKey(nodeId, action, indexName);
  const what = `${action} of ${formatTarget(nodeName, indexName)}`;
  pending.value = new Set([...pending.value, key]);
  notice.value = { kind: "sending", what };
  try {
    const path = `/api/nodes/${encodeURIComponent(nodeId)}/actions/${action.toLowerCase()}`;
    let answer = await api<ActionRecord>("POST", path, { indexName });
    if (!answer.ok) {
      notice.value = { kind: "refused", what, error: answer.error! };
      return;
    }
    show(answer.body);
    while (answer.ok && answer.body.status === "PENDING") {
      await new Promise((resolve) => setTimeout(resolve, PENDING_POLL_MS));
      answer = await api<ActionRecord>("GET", `/api/actions/${encodeURIComponent(answer.body.requestId)}`);
      if (answer.ok) show(answer.body);
    }
  } finally {
    const rest = new Set(pending.value);
    rest.delete(key);
    pending.value = rest;
  }
}

function show(record: ActionRecord): void {
  notice.value = { kind: "record", record };
  history.value = [record, ...history.value.filter((r) => r.requestId !== record.requestId)];
}

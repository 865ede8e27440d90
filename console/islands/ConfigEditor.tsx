/** @jsxRuntime automatic @jsxImportSource preact */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { ConfigPatchResponse, ConfigView } from "../../agent/api/mod.ts";
import { formatCount } from "../_format.ts";
import type { ConsoleError } from "../views.ts";
import { api } from "../models/api.ts";

export interface ConfigEditorProps {
  nodeId: string;
  indexNames: string[];
}

type Message = { kind: "ok" | "error"; text: string } | null;

const BUTTON =
  "rounded px-3 py-1.5 text-sm font-medium focus:outline-none focus:ring-2 focus:ring-blue-600 disabled:cursor-not-allowed disabled:opacity-60";
/** Discard and Reload: grey, beside the blue Validate and Apply. */
const SECONDARY_BUTTON = `${BUTTON} border border-gray-400 bg-white text-gray-900 hover:bg-gray-100`;

/**
 * An index's runtime configuration: original and current values, edits,
 * validation by the agent (a dry run) and apply at the loaded revision, with
 * the agent's message for a key shown at that key's field.
 */
export default function ConfigEditor({ nodeId, indexNames }: ConfigEditorProps) {
  const selected = useSignal(indexNames[0] ?? "");
  const view = useSignal<ConfigView | null>(null);
  const loadError = useSignal<ConsoleError | null>(null);
  const edits = useSignal<Record<string, string>>({});
  const problems = useSignal<Record<string, string>>({});
  const message = useSignal<Message>(null);
  const busy = useSignal<"load" | "validate" | "apply" | null>(null);
  const base = `/api/nodes/${encodeURIComponent(nodeId)}/config?indexName=`;

  const load = async () => {
    if (selected.value === "") return;
    busy.value = "load";
    const answer = await api<ConfigView>("GET", `${base}${encodeURIComponent(selected.value)}`);
    busy.value = null;
    view.value = answer.ok ? answer.body : null;
    loadError.value = answer.error;
    edits.value = {};
    problems.value = {};
  };
  useEffect(() => void load(), [selected.value]);

  const send = async (dryRun: boolean) => {
    const v = view.value!;
    message.value = null;
    const values: Record<string, number> = {};
    const local: Record<string, string> = {};
    for (const [key, text] of Object.entries(edits.value)) {
      if (text.trim() === "") continue;
      const n = Number(text);
      if (!Number.isInteger(n) || n < 0) local[key] = "Enter a whole number, 0 or more.";
      else if (n !== v.current[key]) values[key] = n;
    }
    problems.value = local;
    if (Object.keys(local).length > 0) {
      message.value = { kind: "error", text: "Fix the marked values first; nothing was sent." };
      return;
    }
    if (Object.keys(values).length === 0) {
      message.value = {
        kind: "error",
        text: "No value differs from the current configuration; nothing was sent.",
      };
      return;
    }
    busy.value = dryRun ? "validate" : "apply";
    const answer = await api<ConfigPatchResponse>(
      "PATCH",
      `${base}${encodeURIComponent(v.indexName)}`,
      { values, dryRun, expectedRevision: v.revision },
    );
    busy.value = null;
    const list = answer.ok ? answer.body.problems : answer.error?.problems ?? [];
    problems.value = Object.fromEntries(list.map((p) => [p.key, p.message]));
    const elsewhere = list.filter((p) => !(p.key in v.current)).map((p) => `${p.key}: ${p.message}`);
    if (answer.ok && list.length === 0) {
      if (dryRun) {
        message.value = {
          kind: "ok",
          text: "Valid: the agent accepts these values. Nothing was changed (dry run).",
        };
      } else {
        view.value = answer.body.config;
        edits.value = {};
        message.value = {
          kind: "ok",
          text: `Applied. The configuration is now at revision ${answer.body.config.revision}.`,
        };
      }
      return;
    }
    const e = answer.error;
    const head = e === null
      ? "The agent rejected the values"
      : `${e.httpStatus ?? answer.status} ${e.code}: ${e.message}`;
    const hint = e?.code === "REVISION_CONFLICT" ? " Reload to see the current values, then edit again." : "";
    message.value = { kind: "error", text: [head + hint, ...elsewhere].join(" ") };
  };

  if (indexNames.length === 0) {
    return (
      <section aria-labelledby="config-title" class="rounded-lg border border-gray-300 bg-white p-4">
        <h2 id="config-title" class="text-lg font-semibold">Runtime configuration</h2>
        <p class="mt-2 text-sm text-gray-700">The node reported no index to configure.</p>
      </section>
    );
  }
  const v = view.value;
  return (
    <section
      aria-labelledby="config-title"
      class="rounded-lg border border-gray-300 bg-white p-4"
      data-config-editor
    >
      <div class="flex flex-wrap items-end justify-between gap-3">
        <h2 id="config-title" class="text-lg font-semibold">Runtime configuration</h2>
        <label class="text-sm">
          Index{" "}
          <select
            class="ml-1 rounded border border-gray-400 px-2 py-1"
            value={selected.value}
            onChange={(e) => selected.value = (e.target as HTMLSelectElement).value}
          >
            {indexNames.map((name) => <option key={name} value={name}>{name}</option>)}
          </select>
        </label>
      </div>
      {loadError.value !== null && (
        <p class="mt-2 text-sm text-red-900" data-field="config-error">
          <span aria-hidden="true">✖</span> The configuration is unavailable: {loadError.value.code}:{" "}
          {loadError.value.message}
        </p>
      )}
      {v !== null && (
        <form
          class="mt-3"
          onSubmit={(e) => {
            e.preventDefault();
            void send(false);
          }}
        >
          <p class="text-sm text-gray-700">
            Revision{" "}
            <span data-field="revision">{v.revision}</span>. Values the agent does not allow to change at
            runtime are read only.
          </p>
          <div
            class="relative mt-2 overflow-x-auto"
            tabIndex={0}
            role="region"
            aria-label="Configuration values"
          >
            <table class="min-w-full text-left text-sm">
              <thead class="border-b border-gray-300 text-gray-700">
                <tr>
                  <th scope="col" class="py-1 pr-3 font-medium">Key</th>
                  <th scope="col" class="py-1 pr-3 font-medium">Original</th>
                  <th scope="col" class="py-1 pr-3 font-medium">Current</th>
                  <th scope="col" class="py-1 pr-3 font-medium">New value</th>
                  <th scope="col" class="py-1 font-medium">Status</th>
                </tr>
              </thead>
              <tbody>
                {Object.keys(v.current).sort().map((key) => {
                  const editable = v.supportedKeys.includes(key);
                  const problem = problems.value[key];
                  const edited = (edits.value[key] ?? "").trim() !== "";
                  const status = edited
                    ? "Edited"
                    : v.current[key] !== v.original[key]
                    ? "Overridden"
                    : "Unchanged";
                  const inputId = `cfg-${key}`;
                  return (
                    <tr key={key} class="border-b border-gray-200 align-top" data-key={key}>
                      <th scope="row" class="py-1 pr-3 font-mono font-normal">
                        <label for={editable ? inputId : undefined}>{key}</label>
                      </th>
                      <td class="py-1 pr-3 tabular-nums">{formatCount(v.original[key])}</td>
                      <td class="py-1 pr-3 tabular-nums" data-field="current">
                        {formatCount(v.current[key])}
                      </td>
                      <td class="py-1 pr-3">
                        {editable
                          ? (
                            <input
                              id={inputId}
                              type="text"
                              inputMode="numeric"
                              class={`w-32 rounded border px-2 py-0.5 ${
                                problem ? "border-red-700 bg-red-50" : "border-gray-400"
                              }`}
                              placeholder={String(v.current[key])}
                              value={edits.value[key] ?? ""}
                              aria-invalid={problem ? "true" : undefined}
                              aria-describedby={problem ? `${inputId}-problem` : undefined}
                              onInput={(e) => {
                                edits.value = { ...edits.value, [key]: (e.target as HTMLInputElement).value };
                              }}
                            />
                          )
                          : <span class="text-gray-700">read only</span>}
                        {problem && (
                          <p id={`${inputId}-problem`} class="mt-1 text-xs text-red-900" data-field="problem">
                            <span aria-hidden="true">✖</span> {problem}
                          </p>
                        )}
                      </td>
                      <td class="py-1 text-gray-800" data-field="status">{status}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <div class="mt-3 flex flex-wrap gap-2">
            <button
              type="button"
              class={`${BUTTON} border border-blue-700 bg-white text-blue-800 hover:bg-blue-50`}
              disabled={busy.value !== null}
              onClick={() => void send(true)}
            >
              {busy.value === "validate" ? "Validating…" : "Validate"}
            </button>
            <button
              type="submit"
              class={`${BUTTON} bg-blue-700 text-white hover:bg-blue-800`}
              disabled={busy.value !== null}
            >
              {busy.value === "apply" ? "Applying…" : "Apply changes"}
            </button>
            <button
              type="button"
              class={SECONDARY_BUTTON}
              disabled={busy.value !== null}
              onClick={() => {
                edits.value = {};
                problems.value = {};
                message.value = null;
              }}
            >
              Discard edits
            </button>
            <button
              type="button"
              class={SECONDARY_BUTTON}
              disabled={busy.value !== null}
              onClick={() => {
                message.value = null;
                void load();
              }}
            >
              Reload
            </button>
          </div>
        </form>
      )}
      <div role="status" aria-live="polite" class="mt-2 text-sm">
        {message.value !== null && (
          <p
            class={message.value.kind === "ok" ? "text-green-900" : "text-red-900"}
            data-config-message={message.value.kind}
          >
            <span aria-hidden="true">{message.value.kind === "ok" ? "✔" : "✖"}</span> {message.value.text}
          </p>
        )}
      </div>
    </section>
  );
}

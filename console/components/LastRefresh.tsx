/** @jsxRuntime automatic @jsxImportSource preact */
import { formatTime, isoTime } from "../_format.ts";
import type { ConsoleError } from "../views.ts";

/** When the shown data was produced, and why the latest refresh failed, if it did. */
export interface RefreshState {
  at: number;
  error: ConsoleError | null;
}

export interface LastRefreshProps {
  state: RefreshState;
  pollIntervalMs: number;
}

/** "Last refresh HH:MM:SS UTC, every N s", or the reason the page shows older data. */
export default function LastRefresh({ state, pollIntervalMs }: LastRefreshProps) {
  const every = `every ${(pollIntervalMs / 1000).toLocaleString("en-US")} s`;
  if (state.error !== null) {
    const signIn = state.error.code === "UNAUTHENTICATED";
    return (
      <p class="rounded border border-red-700 bg-red-50 px-2 py-1 text-sm text-red-900" data-refresh="failed">
        <span aria-hidden="true">✖</span> Refresh failed: {state.error.message}
        {signIn && (
          <>
            {" "}
            <a class="font-semibold underline" href="/login">Sign in again</a>
          </>
        )}. Showing data from <time dateTime={isoTime(state.at)}>{formatTime(state.at)}</time>.
      </p>
    );
  }
  return (
    <p class="text-sm text-gray-700" data-refresh="ok">
      <span aria-hidden="true">⟳</span> Last refresh{" "}
      <time dateTime={isoTime(state.at)} data-field="last-refresh">{formatTime(state.at)}</time>, {every}
    </p>
  );
}

/**
 * Repeated GETs of a console endpoint for an island: the next request
 * starts an interval after the previous answer, so a slow console never
 * has two polls of the same page in flight.
 *
 * @module
 */
import { api, type ApiAnswer } from "./api.ts";

/** Polls `url` every `intervalMs` until the returned function is called. */
export function startPolling<T>(
  url: string,
  intervalMs: number,
  onAnswer: (answer: ApiAnswer<T>) => void,
): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout>;
  const tick = async () => {
    const answer = await api<T>("GET", url);
    if (stopped) return;
    onAnswer(answer);
    timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

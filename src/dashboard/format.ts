// Plain-text formatting for dashboard pages: ages, durations, rates and JSON.

export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d ${Math.floor((seconds % 86_400) / 3600)}h`;
}

/** "3m 5s ago" or "in 2h 10m", from an ISO time. */
export function relative(iso: string | null, now: number): string {
  if (!iso) return "—";
  const diff = Math.round((now - Date.parse(iso)) / 1000);
  return diff >= 0 ? `${duration(diff)} ago` : `in ${duration(-diff)}`;
}

export function millis(ms: number | null | undefined): string {
  if (ms == null) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export const percent = (ratio: number) => `${(ratio * 100).toFixed(ratio === 0 || ratio === 1 ? 0 : 1)}%`;

/** Pretty JSON, cut so one huge payload cannot make a page megabytes long. */
export function prettyJson(value: unknown, limit = 20_000): string {
  const text = JSON.stringify(value, null, 2) ?? "null";
  return text.length > limit ? `${text.slice(0, limit)}\n… (${text.length - limit} more characters)` : text;
}

/** Query string from the set values only. */
export function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) search.set(k, v);
  const text = search.toString();
  return text ? `?${text}` : "";
}

// The dashboard is a client of the public HTTP API: it calls the app in-process as the signed-in tenant, so every rule applies once.
import type { Context, ExecutionContext as HonoExecutionContext } from "hono";
import { actingAs } from "../http/in-process-principal";
import type { DashboardEnv } from "./session";

export type ApiError = { code: string; message: string };
export type ApiReply<T> = { ok: true; status: number; body: T } | { ok: false; status: number; error: ApiError };
export type Api = <T>(method: string, path: string, body?: unknown) => Promise<ApiReply<T>>;
export type AppFetch = (request: Request, env: Env, ctx?: HonoExecutionContext) => Response | Promise<Response>;

function executionContext(c: Context): HonoExecutionContext | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined; // not every caller (e.g. app.request in tests) has one
  }
}

export function apiFor(c: Context<DashboardEnv>, appFetch: AppFetch): Api {
  return async <T>(method: string, path: string, body?: unknown): Promise<ApiReply<T>> => {
    const headers: Record<string, string> = {
      // The app's request-id middleware takes a cf-ray header as the id: the inner request logs under the page's id.
      "cf-ray": c.var.requestId,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    // No key travels: the session holds none. The request is vouched for in memory as the session's tenant.
    const { tenant, keyId } = c.var.session;
    const request = actingAs(
      new Request(new URL(path, c.req.url), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      { role: "tenant", tenant, keyId },
    );
    const response = await appFetch(request, c.env, executionContext(c));
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : null;
    if (response.ok) return { ok: true, status: response.status, body: parsed as T };
    const error = (parsed as { error?: ApiError } | null)?.error;
    return {
      ok: false,
      status: response.status,
      error: error ?? { code: "internal", message: `the API answered ${response.status}` },
    };
  };
}

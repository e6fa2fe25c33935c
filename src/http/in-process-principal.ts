// Requests the app makes to itself (the dashboard calling the public API) carry their principal in memory, never in a header.
import type { Principal } from "./app-env";

/**
 * Keyed by the Request object itself: only code in this isolate that built the request can vouch for
 * it, and nothing a client sends (headers, body) can put an entry here.
 */
const principals = new WeakMap<Request, Principal>();

/** Marks a request built in-process as made on behalf of `principal`; answers the same request. */
export function actingAs(request: Request, principal: Principal): Request {
  principals.set(request, principal);
  return request;
}

/** The principal an in-process request was built for, or undefined for anything from outside. */
export function inProcessPrincipal(request: Request): Principal | undefined {
  return principals.get(request);
}

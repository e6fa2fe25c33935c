// Test-only caller Worker: POST /rpc/<method> with the arguments as a JSON array calls env.JOBS.<method>.
import type { JobsRpc } from "edge-jobs";

type CallerEnv = { JOBS: Service<JobsRpc>; EDGE_JOBS: Fetcher };

const METHODS = ["enqueue", "enqueueBatch", "get", "list", "cancel", "retry"] as const;
type Method = (typeof METHODS)[number];
const isMethod = (name: string): name is Method => (METHODS as readonly string[]).includes(name);

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const method = url.pathname.match(/^\/rpc\/(\w+)$/)?.[1];
    if (method === undefined) return env.EDGE_JOBS.fetch(request);
    if (!isMethod(method)) return Response.json({ unknownMethod: method }, { status: 404 });
    const args = (await request.json()) as unknown[];
    // The stub's methods take different arguments; the test sends each the right ones.
    const call = env.JOBS[method] as (...args: unknown[]) => Promise<unknown>;
    try {
      // The answer as it crossed the boundary: {ok: true, …} or {ok: false, error: {code, message, issues}}.
      return Response.json(await Reflect.apply(call, env.JOBS, args));
    } catch (err) {
      // Only a failure of Edge Jobs itself (or of the binding) is thrown.
      return Response.json({ thrown: (err as Error).message }, { status: 500 });
    }
  },
} satisfies ExportedHandler<CallerEnv>;

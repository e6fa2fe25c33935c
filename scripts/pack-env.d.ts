// `npm run build` only: the library compiles against the bindings it declares it reads, not this repo's deployment's Env.
import type { EdgeJobsEnv } from "../src/edge-jobs";

declare global {
  interface Env extends EdgeJobsEnv {}
}

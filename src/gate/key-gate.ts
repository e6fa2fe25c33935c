// KeyGate: one SQLite-backed Durable Object per (tenant, key) for idempotency claims and flow control.
import { DurableObject } from "cloudflare:workers";

export class KeyGate extends DurableObject<Env> {}

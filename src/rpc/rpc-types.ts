// JobsRpc's answers: the contract's shapes with JSON where they say `unknown`, which RPC stubs cannot type.
import type { Job as HttpJob, JobDetail as HttpJobDetail } from "../client/types";

/** Interfaces, not an inline recursive type: RPC's Serializable check recurses into them lazily. */
export type Json = string | number | boolean | null | JsonArray | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}
export interface JsonArray extends Array<Json> {}

export type Job = Omit<HttpJob, "payload" | "result"> & { payload: Json; result: Json };
export type JobDetail = Job & Pick<HttpJobDetail, "attemptLog">;
export type JobPage = { data: Job[]; nextCursor: string | null };

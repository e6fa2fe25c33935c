// JobsRpc's answers: the contract's shapes (JSON where they say `unknown`, which RPC stubs cannot type).
import type {
  Batch as HttpBatch,
  Job as HttpJob,
  JobDetail as HttpJobDetail,
  JobType as HttpJobType,
} from "../client/types";
import type { Refusal } from "./rpc-refusals";

/** Interfaces, not an inline recursive type: RPC's Serializable check recurses into them lazily. */
export type Json = string | number | boolean | null | JsonArray | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}
export interface JsonArray extends Array<Json> {}

export type Job = Omit<HttpJob, "payload" | "result"> & { payload: Json; result: Json };
/** A workflow step; its result is the JSON the step stored. */
export type Step = Omit<HttpJobDetail["steps"][number], "result"> & { result: Json };
export type JobDetail = Job & Pick<HttpJobDetail, "attemptLog"> & { steps: Step[] };
export type JobPage = { data: Job[]; nextCursor: string | null };

/** A registered job type; its payload's JSON Schema is JSON. */
export type JobType = Omit<HttpJobType, "inputSchema"> & { inputSchema: JsonObject | null };

/** A batch finisher's payload is a JSON object. */
type Finisher = { type: string; payload?: JsonObject };
export type Batch = Omit<HttpBatch, "onSuccess" | "onComplete"> & {
  onSuccess: Finisher | null;
  onComplete: Finisher | null;
};
export type BatchWithJobs = Batch & { jobs: Job[] };
export type BatchPage = { data: Batch[]; nextCursor: string | null };

/** Each call answers `{ok: true, <name>: value}` or `{ok: false, error}` with the contract's code and issues. */
export type Answer<Name extends string, T> = ({ ok: true } & { [K in Name]: T }) | { ok: false; error: Refusal };

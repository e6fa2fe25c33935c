// `edge-jobs/builtin`: the job types every deployment may register (the signed `http` request job).
export { HTTP_JOB_TYPE, HttpJobInput, type HttpJobResult, httpJob } from "./http";

// Moved to src/engine/consumer.ts (issue 12); this re-export only keeps old imports working until they move.
export { consumeJobs } from "../engine/consumer";

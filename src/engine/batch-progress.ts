// The engine's entry to batch progress: every path that finishes jobs appends these statements to its transaction.
export { type BatchProgress, batchProgress, batchProgressForJob, touchedBatches } from "../service/batch-progress";

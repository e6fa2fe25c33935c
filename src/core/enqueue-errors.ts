// Why an enqueue was refused; the HTTP layer maps each to the contract's code.
import type { Issue } from "../contract/errors";

/** Names at most this many registered types in the message; a registry that large is found in the docs anyway. */
const LISTED_TYPES = 50;

export class UnknownJobTypeError extends Error {
  constructor(
    readonly type: string,
    registered: Iterable<string>,
  ) {
    const names = [...registered].sort();
    const listed = names.slice(0, LISTED_TYPES).join(", ");
    const more = names.length > LISTED_TYPES ? ` and ${names.length - LISTED_TYPES} more` : "";
    super(`unknown job type "${type}"; registered types: ${names.length > 0 ? listed + more : "none"}`);
  }
}

export class PayloadValidationError extends Error {
  constructor(
    message: string,
    readonly issues: Issue[],
  ) {
    super(message);
  }
}

export class PayloadTooLargeError extends Error {}

/** The idempotency key is bound to a request with another type or payload. */
export class IdempotencyConflictError extends Error {
  constructor(
    readonly key: string,
    readonly path: string,
  ) {
    super(`${path ? `${path}: ` : ""}this idempotency key was already used with a different type or payload`);
  }
}

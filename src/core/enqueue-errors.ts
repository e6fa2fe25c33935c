// Why an enqueue was refused; the HTTP layer maps each to the contract's code.
import type { Issue } from "../contract/errors";

export class UnknownJobTypeError extends Error {
  constructor(readonly type: string) {
    super(`unknown job type "${type}"`);
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

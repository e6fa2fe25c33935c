// Why an enqueue was refused; the HTTP layer maps each to the contract's code.
import type { Issue } from "../http/errors";

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

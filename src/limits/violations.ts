// Limit breaks seen by the guards: thrown where they happen and kept here, so a test fails even when a caller catches the throw.
export class PlatformLimitError extends Error {
  override name = "PlatformLimitError";
}

const seen: string[] = [];

/** Records the break, logs it (wrangler dev runs grep their output for the msg) and answers the error to throw. */
export function limitBroken(message: string): PlatformLimitError {
  seen.push(message);
  // A log line of the usual shape, written here so the harness imports nothing of the code it checks.
  console.error(
    JSON.stringify({ level: "error", msg: "platform limit broken", time: new Date().toISOString(), error: message }),
  );
  return new PlatformLimitError(`production limit broken: ${message}`);
}

/** Every break recorded since the last call, and forgets them. */
export function takeViolations(): string[] {
  return seen.splice(0, seen.length);
}

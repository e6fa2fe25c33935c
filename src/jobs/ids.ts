// Time-sortable ids (ULID layout: 48-bit ms time + 80 random bits, Crockford base32) so cursors page by id.

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encodeTime(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += ALPHABET[b % 32];
  return out;
}

export function newId(
  prefix: string,
  nowMs: number,
  randomBytes: Uint8Array = crypto.getRandomValues(new Uint8Array(16)),
): string {
  return `${prefix}_${encodeTime(nowMs)}${encodeRandom(randomBytes.subarray(0, 16))}`;
}

/** The smallest id a job created at `nowMs` can have: a bound for range scans by creation time. */
export function idFloor(prefix: string, nowMs: number): string {
  return `${prefix}_${encodeTime(nowMs)}`;
}

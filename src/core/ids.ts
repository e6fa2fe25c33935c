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

// A batch enqueue makes 100 ids in the same millisecond: its time part is encoded once.
let lastMs = Number.NaN;
let lastTime = "";
function timePart(ms: number): string {
  if (ms !== lastMs) {
    lastTime = encodeTime(ms);
    lastMs = ms;
  }
  return lastTime;
}

function encodeRandom(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < 16; i++) out += ALPHABET[(bytes[i] ?? 0) % 32];
  return out;
}

// Random bytes drawn 1 KiB at a time (64 ids) instead of one native call and one array per id; no byte is reused.
const pool = new Uint8Array(1024);
let poolAt = pool.length;
function freshRandomBytes(): Uint8Array {
  if (poolAt + 16 > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  poolAt += 16;
  return pool.subarray(poolAt - 16, poolAt);
}

export function newId(prefix: string, nowMs: number, randomBytes: Uint8Array = freshRandomBytes()): string {
  return `${prefix}_${timePart(nowMs)}${encodeRandom(randomBytes)}`;
}

/** The smallest id a job created at `nowMs` can have: a bound for range scans by creation time. */
export function idFloor(prefix: string, nowMs: number): string {
  return `${prefix}_${timePart(nowMs)}`;
}

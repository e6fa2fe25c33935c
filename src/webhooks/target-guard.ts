// Target guard: which URLs Edge Jobs may call (http jobs, callbacks). Pure: no DNS, no bindings.

export type TargetCheck = { ok: true; url: URL } | { ok: false; reason: string };
export type GuardOptions = { allowPrivate: boolean };

/** Host names that always mean "this machine" or a cloud's metadata service. */
const BLOCKED_NAMES = new Set([
  "localhost",
  "localhost.localdomain",
  "ip6-localhost",
  "ip6-loopback",
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
]);
/** Suffixes that never resolve to the public internet. */
const BLOCKED_SUFFIXES = [".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet"];

/**
 * Refuses non-http(s) schemes and credentials in the URL always; refuses loopback, private,
 * link-local, metadata and other non-public addresses unless `allowPrivate` (local development).
 * IPv4 in any spelling (decimal, octal, hex, short forms) and IPv6 (mapped, compatible, NAT64,
 * 6to4) are reduced to their numeric address first, so no spelling slips past.
 */
export function checkTarget(raw: string, options: GuardOptions): TargetCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not a valid URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, reason: `scheme ${url.protocol.replace(/:$/, "")} is not allowed; use http or https` };
  }
  if (url.username || url.password) return { ok: false, reason: "credentials in the URL are not allowed" };
  if (options.allowPrivate) return { ok: true, url };
  const reason = blockedHostReason(url.hostname);
  return reason ? { ok: false, reason: `${reason} targets are not allowed` } : { ok: true, url };
}

/** Characters IDNA maps to a dot, and ones it maps to nothing (so `loc\u00adalhost` is `localhost`). */
const IDN_DOTS = /[\u3002\uff0e\uff61]/g;
const IDN_IGNORED = /\u00ad|\u034f|[\u180b-\u180d]|[\u200b-\u200d]|\u2060|[\ufe00-\ufe0f]|\ufeff/g;

/**
 * A host the way a resolver reads it, however it was spelled: percent-escapes decoded, compatibility
 * forms folded (NFKC: fullwidth letters and digits, circled letters), lowercase, IDN dots as dots, and
 * every trailing dot gone (`localhost..` is `localhost`). URL.hostname does most of this already; the
 * guard does it again so it never depends on one parser's leniency.
 */
export function canonicalHost(hostname: string): string {
  let host = hostname;
  try {
    host = decodeURIComponent(host);
  } catch {
    // A malformed escape stays as written; no resolver reads it as anything else.
  }
  return host.normalize("NFKC").toLowerCase().replace(IDN_IGNORED, "").replace(IDN_DOTS, ".").replace(/\.+$/, "");
}

/** Why a host (as URL.hostname or a person spells it) is not a public destination, or null when it is. */
export function blockedHostReason(hostname: string): string | null {
  const host = canonicalHost(hostname);
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = parseIPv6(host.slice(1, -1));
    return groups ? blockedIPv6Reason(groups) : "unparseable IPv6";
  }
  if (host.includes(":")) {
    // A bare IPv6 address (no brackets), as a caller of this function may pass it.
    const groups = parseIPv6(host);
    return groups ? blockedIPv6Reason(groups) : "unparseable host";
  }
  const v4 = parseIPv4(host);
  if (v4 !== null) return blockedIPv4Reason(v4);
  if (host === "" || host.split(".").some((label) => label === "")) return "empty host or label";
  // Punycode labels are judged as the Unicode they stand for too (`xn--…` spelling a local name).
  const unicode = host
    .split(".")
    .map((label) => (label.startsWith("xn--") ? (decodePunycode(label.slice(4)) ?? label) : label))
    .join(".");
  const names = [host, canonicalHost(unicode)];
  const local = (name: string) => BLOCKED_NAMES.has(name) || BLOCKED_SUFFIXES.some((suffix) => name.endsWith(suffix));
  if (names.some(local)) return "local host name";
  // A single label resolves only through a local search domain, never to a public site.
  if (!host.includes(".")) return "single-label host name";
  return null;
}

const PUNY = { base: 36, tMin: 1, tMax: 26, skew: 38, damp: 700, initialBias: 72, initialN: 128 } as const;

function punyAdapt(delta: number, points: number, first: boolean): number {
  let d = first ? Math.floor(delta / PUNY.damp) : Math.floor(delta / 2);
  d += Math.floor(d / points);
  let k = 0;
  while (d > ((PUNY.base - PUNY.tMin) * PUNY.tMax) >> 1) {
    d = Math.floor(d / (PUNY.base - PUNY.tMin));
    k += PUNY.base;
  }
  return k + Math.floor(((PUNY.base - PUNY.tMin + 1) * d) / (d + PUNY.skew));
}

function punyDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 22; // 0-9 are 26-35
  if (code >= 0x61 && code <= 0x7a) return code - 0x61; // a-z are 0-25
  if (code >= 0x41 && code <= 0x5a) return code - 0x41;
  return -1;
}

/** RFC 3492 decoding of one label's part after `xn--`; null when it is not valid Punycode. */
export function decodePunycode(input: string): string | null {
  const output: number[] = [];
  const delimiter = input.lastIndexOf("-");
  for (const ch of delimiter > 0 ? input.slice(0, delimiter) : "") {
    const code = ch.charCodeAt(0);
    if (code >= 0x80) return null;
    output.push(code);
  }
  let n: number = PUNY.initialN;
  let bias: number = PUNY.initialBias;
  let i = 0;
  let pos = delimiter > 0 ? delimiter + 1 : 0;
  while (pos < input.length) {
    const before = i;
    let weight = 1;
    for (let k = PUNY.base; ; k += PUNY.base) {
      if (pos >= input.length) return null;
      const digit = punyDigit(input.charCodeAt(pos++));
      if (digit < 0) return null;
      i += digit * weight;
      const t = k <= bias ? PUNY.tMin : k >= bias + PUNY.tMax ? PUNY.tMax : k - bias;
      if (digit < t) break;
      weight *= PUNY.base - t;
      if (i > 0x10ffff * (output.length + 1)) return null;
    }
    bias = punyAdapt(i - before, output.length + 1, before === 0);
    n += Math.floor(i / (output.length + 1));
    i %= output.length + 1;
    if (n > 0x10ffff) return null;
    output.splice(i, 0, n);
    i++;
  }
  return String.fromCodePoint(...output);
}

/**
 * An IPv4 address as the URL standard (and inet_aton) reads it: 1–4 parts, each decimal, octal
 * (leading 0) or hex (0x), the last part filling the remaining bytes. Null when `host` is not one.
 */
export function parseIPv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseIPv4Part(part);
    if (n === null) return null;
    numbers.push(n);
  }
  const last = numbers.pop() as number;
  if (numbers.some((n) => n > 255)) return null;
  if (last >= 256 ** (4 - numbers.length)) return null;
  return numbers.reduce((acc, n, i) => acc + n * 256 ** (3 - i), 0) + last;
}

function parseIPv4Part(part: string): number | null {
  if (/^0x[0-9a-f]*$/i.test(part)) return part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
  if (/^0[0-7]+$/.test(part)) return Number.parseInt(part.slice(1), 8);
  if (/^(0|[1-9][0-9]*)$/.test(part)) return Number(part);
  return null;
}

type V4Range = [base: string, bits: number, reason: string];

/** Every IPv4 block that is not a public unicast destination (RFC 6890 and friends). */
const IPV4_BLOCKED: V4Range[] = [
  ["169.254.169.254", 32, "cloud metadata"],
  ["168.63.129.16", 32, "cloud metadata"],
  ["0.0.0.0", 8, "unspecified (this network)"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared address space (carrier-grade NAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignment"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "6to4 relay anycast"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved or broadcast"],
];

const V4_TABLE = IPV4_BLOCKED.map(([base, bits, reason]) => ({
  base: parseIPv4(base) as number,
  size: 2 ** (32 - bits),
  reason,
}));

export function blockedIPv4Reason(address: number): string | null {
  for (const { base, size, reason } of V4_TABLE) {
    if (address >= base && address < base + size) return reason;
  }
  return null;
}

/** Eight 16-bit groups, or null. Accepts `::` compression and a dotted IPv4 tail; no zone ids. */
export function parseIPv6(text: string): number[] | null {
  let body = text.toLowerCase();
  const lastColon = body.lastIndexOf(":");
  const dotted = body.slice(lastColon + 1);
  if (dotted.includes(".")) {
    // A dotted IPv4 tail (::ffff:127.0.0.1) stands for the last two groups.
    const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(dotted) ? parseIPv4(dotted) : null;
    if (v4 === null) return null;
    const hex = (n: number) => n.toString(16);
    body = `${body.slice(0, lastColon + 1)}${hex(Math.floor(v4 / 65536))}:${hex(v4 % 65536)}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const toGroups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = toGroups(halves[0] ?? "");
  const rest = halves.length === 2 ? toGroups(halves[1] ?? "") : [];
  const parsed: number[] = [];
  for (const group of [...head, ...rest]) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return null;
    parsed.push(Number.parseInt(group, 16));
  }
  const missing = 8 - parsed.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  return [...parsed.slice(0, head.length), ...new Array(missing).fill(0), ...parsed.slice(head.length)];
}

const v4Of = (high: number, low: number) => high * 65536 + low;

export function blockedIPv6Reason(g: number[]): string | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroPrefix = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroPrefix(8)) return "unspecified";
  if (zeroPrefix(7) && g7 === 1) return "loopback";
  // IPv4 carried inside IPv6 is judged as the IPv4 address it reaches.
  const embedded = (v4: number, how: string) => {
    const reason = blockedIPv4Reason(v4);
    return reason ? `${reason} (${how})` : null;
  };
  if (zeroPrefix(5) && g5 === 0xffff) return embedded(v4Of(g6, g7), "IPv4-mapped");
  if (zeroPrefix(4) && g4 === 0xffff && g5 === 0) return embedded(v4Of(g6, g7), "IPv4-translated");
  if (zeroPrefix(6)) return embedded(v4Of(g6, g7), "IPv4-compatible") ?? "IPv4-compatible";
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return embedded(v4Of(g6, g7), "NAT64");
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return "local-use NAT64";
  if (g0 === 0x2002) return embedded(v4Of(g1, g2), "6to4");
  if (g0 === 0x2001 && g1 === 0) return "Teredo";
  if (g0 === 0x2001 && g1 === 0xdb8) return "documentation";
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return "discard-only";
  if ((g0 & 0xfe00) === 0xfc00) return "unique local (private)";
  if ((g0 & 0xffc0) === 0xfe80) return "link-local";
  if ((g0 & 0xffc0) === 0xfec0) return "site-local";
  if ((g0 & 0xff00) === 0xff00) return "multicast";
  return null;
}

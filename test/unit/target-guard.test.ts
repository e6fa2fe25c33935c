// The target guard over every refusal form: schemes, credentials, names, and IPv4/IPv6 in every spelling.
import { describe, expect, it } from "vitest";
import {
  blockedHostReason,
  canonicalHost,
  checkTarget,
  decodePunycode,
  parseIPv4,
  parseIPv6,
} from "../../src/webhooks/target-guard";
import { REFUSED_TARGETS } from "../fixtures/refused-targets";

const strict = { allowPrivate: false };
const dev = { allowPrivate: true };
const reasonOf = (url: string, options = strict) => {
  const check = checkTarget(url, options);
  return check.ok ? null : check.reason;
};

describe("checkTarget refuses every form on the list", () => {
  it.each(REFUSED_TARGETS)("%s", (url, reason) => {
    expect(reasonOf(url)).toMatch(reason);
  });
});

describe("checkTarget lets public destinations through", () => {
  it.each([
    "https://example.com/hook",
    "http://example.com:8080/a?b=c",
    "https://93.184.215.14/",
    "https://8.8.8.8/",
    "https://172.32.0.1/",
    "https://100.128.0.1/",
    "https://[2606:4700:4700::1111]/dns-query",
    "https://[::ffff:8.8.8.8]/",
    "https://[64:ff9b::808:808]/",
    "https://api.example.co.uk/v1/hooks",
    "https://example.com./hook",
    "https://EXAMPLE.com/hook",
    "https://b\u00fccher.de/",
    "https://xn--bcher-kva.de/",
    "https://xn--localhost-kva.com/",
  ])("%s", (url) => {
    expect(reasonOf(url)).toBeNull();
  });
});

describe("ALLOW_PRIVATE_TARGETS (local development)", () => {
  it("opens private addresses and local names", () => {
    for (const url of ["http://127.0.0.1:8787/", "http://[::1]/", "http://localhost/", "http://169.254.169.254/"]) {
      expect(reasonOf(url, dev)).toBeNull();
    }
  });

  it("still refuses other schemes and credentials", () => {
    expect(reasonOf("ftp://127.0.0.1/", dev)).toMatch(/scheme ftp/);
    expect(reasonOf("http://a:b@127.0.0.1/", dev)).toMatch(/credentials/);
  });
});

describe("address parsers (defence beside the URL parser's own normalising)", () => {
  it("reads IPv4 in decimal, octal, hex and short forms", () => {
    const loopback = 0x7f000001;
    for (const text of [
      "127.0.0.1",
      "127.1",
      "127.0.1",
      "2130706433",
      "0x7f000001",
      "0x7F.1",
      "0177.0.0.01",
      "0x7f.0.0.1.",
    ]) {
      expect(parseIPv4(text), text).toBe(loopback);
    }
    for (const text of [
      "256.0.0.1",
      "1.2.3.4.5",
      "0x1.0x100.0.0",
      "4294967296",
      "1.2.3.z",
      "08.1.1.1",
      "",
      "example.com",
    ]) {
      expect(parseIPv4(text), text).toBeNull();
    }
  });

  it("reads IPv6 with compression and dotted tails, and refuses malformed ones", () => {
    expect(parseIPv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6("fe80::")).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6("::ffff:1.2.3.4")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const text of ["1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "::ffff:1.2.3", "1:2:3:4:5:6:7", "g::1"]) {
      expect(parseIPv6(text), text).toBeNull();
    }
  });

  it("judges raw host spellings directly", () => {
    expect(blockedHostReason("0x7f.1")).toBe("loopback");
    expect(blockedHostReason("017700000001")).toBe("loopback");
    expect(blockedHostReason("[::ffff:a9fe:a9fe]")).toBe("cloud metadata (IPv4-mapped)");
    expect(blockedHostReason("example.com")).toBeNull();
  });
});

describe("host spellings a resolver reads alike (judged without the URL parser's help)", () => {
  it("canonicalHost folds case, escapes, compatibility forms, IDN dots and every trailing dot", () => {
    expect(canonicalHost("localhost..")).toBe("localhost");
    expect(canonicalHost("Metadata.Google.Internal...")).toBe("metadata.google.internal");
    expect(canonicalHost("%6c%6f%63%61%6c%68%6f%73%74")).toBe("localhost");
    expect(canonicalHost("\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54")).toBe("localhost");
    expect(canonicalHost("\u24dbocalhost\u3002")).toBe("localhost");
    expect(canonicalHost("loc\u200balhost\uff0e")).toBe("localhost");
    expect(canonicalHost("\uff11\uff12\uff17.0.0.1")).toBe("127.0.0.1");
    expect(canonicalHost("%zz.example.com")).toBe("%zz.example.com");
  });

  it.each([
    ["localhost..", "local host name"],
    ["metadata.google.internal..", "local host name"],
    ["METADATA.goog.", "local host name"],
    ["%6c%6f%63%61%6c%68%6f%73%74.", "local host name"],
    ["xn--localhost-", "local host name"],
    ["printer.xn--local-", "local host name"],
    ["127.0.0.1...", "loopback"],
    ["0x7F.0.0.1.", "loopback"],
    ["0177.0.0.1", "loopback"],
    ["127.1", "loopback"],
    ["2130706433.", "loopback"],
    ["0xA9FEA9FE", "cloud metadata"],
    ["::1", "loopback"],
    ["[0:0::1]", "loopback"],
    ["[::ffff:127.0.0.1]", "loopback (IPv4-mapped)"],
    ["[::FFFF:a9fe:a9fe]", "cloud metadata (IPv4-mapped)"],
    ["[fe80::1%25eth0]", "unparseable IPv6"],
    ["", "empty host or label"],
    ["a..example.com", "empty host or label"],
  ])("%s → %s", (host, reason) => {
    expect(blockedHostReason(host)).toBe(reason);
  });

  it("decodePunycode follows RFC 3492 and refuses invalid input", () => {
    expect(decodePunycode("bcher-kva")).toBe("b\u00fccher");
    expect(decodePunycode("mgbh0fb")).toBe("\u0645\u062b\u0627\u0644");
    expect(decodePunycode("ls8h")).toBe("\u{1f4a9}");
    expect(decodePunycode("localhost-")).toBe("localhost");
    expect(decodePunycode("a!")).toBeNull();
    expect(decodePunycode("\u00fc-abc")).toBeNull();
  });
});

// The target guard over every refusal form: schemes, credentials, names, and IPv4/IPv6 in every spelling.
import { describe, expect, it } from "vitest";
import { blockedHostReason, checkTarget, parseIPv4, parseIPv6 } from "../../src/webhooks/target-guard";
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

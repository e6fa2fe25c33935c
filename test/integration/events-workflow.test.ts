// POST /v1/events against the real engine (W1's wf-event job type) over HTTP and the real queue: a keyless wait takes
// any key, a wait on a key ignores other keys, and an event sent just before its waiter starts is not lost.
import { describe, expect, it } from "vitest";
import { call, enqueue, newTenant, waitForStatus } from "../fixtures/api";

type Sent = { id: string; matched: number; more: boolean };
const send = (key: string, body: Record<string, unknown>) => call<Sent>("POST", "/v1/events", { token: key, body });

describe("events wake real workflow jobs", () => {
  it("a parked keyed wait ignores another key's event and resumes with its own event's data", async () => {
    const { key } = await newTenant("evwf-keyed");
    const job = await enqueue(key, {
      type: "wf-event",
      payload: { event: "payment.captured", key: "o-1", timeoutSeconds: 3600 },
    });
    await waitForStatus(key, job.id, ["waiting"]);
    expect((await send(key, { name: "payment.captured", key: "o-2", data: { amount: 1 } })).body).toMatchObject({
      matched: 0,
    });
    expect((await waitForStatus(key, job.id, ["waiting"])).status).toBe("waiting");
    const sent = await send(key, { name: "payment.captured", key: "o-1", data: { amount: 4200 } });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ matched: 1, more: false });
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(done).toMatchObject({ status: "succeeded", result: { data: { amount: 4200 } } });
  });

  it("a keyless wait resumes on an event of any key", async () => {
    const { key } = await newTenant("evwf-any");
    const job = await enqueue(key, { type: "wf-event", payload: { event: "deploy.done", timeoutSeconds: 3600 } });
    await waitForStatus(key, job.id, ["waiting"]);
    expect((await send(key, { name: "deploy.done", key: "eu-west", data: "ok" })).body.matched).toBe(1);
    expect(await waitForStatus(key, job.id, ["succeeded", "dead"])).toMatchObject({ result: { data: "ok" } });
  });

  it("an event sent before its waiter starts waiting (within 60 s) still reaches it", async () => {
    const { key } = await newTenant("evwf-early");
    const early = await send(key, { name: "invoice.paid", key: "inv-3", data: { paid: true } });
    expect(early.body).toMatchObject({ matched: 0, more: false });
    const job = await enqueue(key, {
      type: "wf-event",
      payload: { event: "invoice.paid", key: "inv-3", timeoutSeconds: 3600 },
    });
    const done = await waitForStatus(key, job.id, ["succeeded", "dead"]);
    expect(done).toMatchObject({ status: "succeeded", result: { data: { paid: true } } });
  });
});

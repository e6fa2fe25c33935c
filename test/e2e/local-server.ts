// A real HTTP server on loopback that records what it receives and answers as each test plans.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export type Received = { method: string; path: string; headers: IncomingMessage["headers"]; body: string; at: number };
export type Responder = (req: Received, res: ServerResponse) => void;

export async function startLocalServer(respond: Responder = (_req, res) => res.end("ok")) {
  const received: Received[] = [];
  let responder = respond;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const entry = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, at: Date.now() };
      received.push(entry);
      responder(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    respondWith(next: Responder) {
      responder = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

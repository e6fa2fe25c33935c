// /docs: a reference page rendered from the app's own OpenAPI document, with no external assets.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";

type Operation = { summary?: string; tags?: string[] };

export function registerDocsRoutes(app: OpenAPIHono<AppEnv>) {
  app.get("/docs", (c) => {
    const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "Edge Jobs", version: "1.0.0" } });
    const operations = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
      Object.entries(item as Record<string, Operation>).map(([method, op]) => ({ path, method, op })),
    );
    return c.html(
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>Edge Jobs API reference</title>
          <style>{`body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}td{padding:.25rem .75rem;border-bottom:1px solid #eee}
.m{font-weight:600;text-transform:uppercase;font-family:monospace}`}</style>
        </head>
        <body>
          <h1>Edge Jobs API</h1>
          <p>
            The machine-readable document is at <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Every{" "}
            <code>/v1/*</code> route takes <code>Authorization: Bearer &lt;api key&gt;</code>.
          </p>
          <table>
            <tbody>
              {operations.map(({ path, method, op }) => (
                <tr>
                  <td class="m">{method}</td>
                  <td>
                    <code>{path}</code>
                  </td>
                  <td>{op.summary ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </body>
      </html>,
    );
  });
}

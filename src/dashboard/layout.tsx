// The page shell: head, navigation, the one-time notice, and the CSRF field every form carries.
import type { Child } from "hono/jsx";
import type { Flash, Session } from "./session";

export type Section = "overview" | "jobs" | "dead" | "schedules" | "batches" | "job-types";

const NAV: [Section, string, string][] = [
  ["overview", "Overview", "/dashboard"],
  ["jobs", "Jobs", "/dashboard/jobs"],
  ["dead", "Dead letters", "/dashboard/dead"],
  ["schedules", "Schedules", "/dashboard/schedules"],
  ["batches", "Batches", "/dashboard/batches"],
  ["job-types", "Job types", "/dashboard/job-types"],
];

export const CsrfField = (props: { session: Session }) => (
  <input type="hidden" name="_csrf" value={props.session.csrf} />
);

export function Page(props: {
  title: string;
  session?: Session;
  section?: Section;
  flash?: Flash | null;
  children?: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${props.title} · Edge Jobs`}</title>
        <link rel="stylesheet" href="/dashboard/assets/app.css" />
        <script src="/dashboard/assets/app.js" defer />
      </head>
      <body>
        {props.session ? (
          <header>
            <span class="brand">Edge Jobs</span>
            <nav>
              {NAV.map(([section, label, href]) => (
                <a href={href} aria-current={section === props.section ? "page" : undefined}>
                  {label}
                </a>
              ))}
            </nav>
            <span class="muted-light" title="tenant">
              {props.session.tenant}
            </span>
            <form method="post" action="/dashboard/logout">
              <CsrfField session={props.session} />
              <button type="submit" class="small">
                Sign out
              </button>
            </form>
          </header>
        ) : null}
        <main>
          {props.flash ? (
            <p class={`flash flash-${props.flash.kind}`} role="status">
              {props.flash.text}
            </p>
          ) : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}

export const StatusBadge = (props: { status: string }) => (
  <span class={`status status-${props.status}`}>{props.status}</span>
);

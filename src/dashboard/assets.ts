// The dashboard's stylesheet and its few lines of script, served from our own origin so the CSP can forbid everything else.

export const STYLES = `:root{--fg:#1d232b;--muted:#5d6b7a;--bg:#f6f7f9;--card:#fff;--line:#e3e6ea;--ok:#1a7f37;--warn:#a35200;--bad:#c62828;--accent:#2557d6}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#14213d;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem .75rem;align-items:center}
header a{color:#fff;text-decoration:none;padding:.25rem .5rem;border-radius:4px}
header a[aria-current=page]{background:rgba(255,255,255,.18)}
header .brand{font-weight:700;margin-right:auto;padding-left:0}
header form{margin:0}
header .muted-light{opacity:.8}
header button{background:transparent;color:#fff;border-color:rgba(255,255,255,.4)}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.25rem 0 1rem}
h2{font-size:1.05rem;margin:0 0 .6rem}
a{color:var(--accent)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.75rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.7rem .8rem}
.card .label{color:var(--muted);font-size:.8rem}
.card .value{font-size:1.4rem;font-weight:600}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.8rem;margin:1rem 0}
.scroll{overflow-x:auto}
main>table{display:block;overflow-x:auto}
h1,dl.fields dd{overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;white-space:nowrap}
th{font-size:.8rem;color:var(--muted);font-weight:600}
td.wrap{white-space:normal;word-break:break-word;min-width:12rem}
.status{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;background:#eef1f5}
.status-succeeded{background:#dff3e4;color:var(--ok)}
.status-dead{background:#fde2e1;color:var(--bad)}
.status-retrying{background:#fff0d9;color:var(--warn)}
.status-running{background:#e0e9ff;color:var(--accent)}
.status-waiting{background:#efe6fb;color:#6b3fa0}
.status-failed,.status-timed_out{background:#fff0d9;color:var(--warn)}
button,.button{font:inherit;padding:.4rem .75rem;border-radius:6px;border:1px solid #c9ced6;background:#fff;cursor:pointer;color:var(--fg);text-decoration:none;display:inline-block;line-height:1.3}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.danger{color:var(--bad);border-color:#f0b7b4}
button.small{padding:.2rem .5rem;font-size:.85rem}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin-bottom:.75rem}
label{display:flex;flex-direction:column;font-size:.8rem;color:var(--muted);gap:.2rem}
select,input[type=text],input[type=password]{font:inherit;padding:.35rem .5rem;border:1px solid #c9ced6;border-radius:6px;background:#fff;min-width:8rem}
pre{background:#f3f4f6;padding:.75rem;border-radius:6px;overflow:auto;max-height:24rem;font-size:.85rem;margin:0}
.flash{padding:.6rem .8rem;border-radius:6px;margin-bottom:1rem}
.flash-ok{background:#dff3e4}
.flash-error{background:#fde2e1}
.muted{color:var(--muted)}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:.75rem 0;align-items:center}
.pager{display:flex;gap:.5rem;margin-top:.75rem}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dl.fields dt{color:var(--muted)}
dl.fields dd{margin:0;word-break:break-word}
.chart{margin:0}
.chart svg{width:100%;height:10rem;display:block}
form.inline{display:inline}
.legend{font-size:.85rem;margin-top:.4rem}
.legend span{margin-right:1rem;white-space:nowrap}
.swatch{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;margin-right:.3rem;vertical-align:middle}
.bar-succeeded,.sw-succeeded{fill:#2da44e;background:#2da44e}
.bar-failed,.sw-failed{fill:#e3a008;background:#e3a008}
.bar-dead,.sw-dead{fill:#d1242f;background:#d1242f}
.login{max-width:24rem;margin:12vh auto;background:#fff;padding:1.5rem;border-radius:10px;border:1px solid var(--line)}
.login label{margin-bottom:1rem}
.login input{width:100%}
@media (max-width:40rem){main{padding:.6rem}dl.fields{grid-template-columns:1fr}dl.fields dt{margin-top:.4rem}.card .value{font-size:1.2rem}}
`;

/** Progressive enhancement only (select-all, confirmations): every page works without it. */
export const SCRIPT = `"use strict";
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.hasAttribute("data-select-all")) return;
  document.querySelectorAll('input[type=checkbox][name="ids"]').forEach(function (other) { other.checked = box.checked; });
});
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var message = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
`;

/** Nothing but our own stylesheet, script and forms; no framing (clickjacking), no outside requests. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

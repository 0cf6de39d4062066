// The monitoring page: reads the JSON that export_dashboard_metrics writes and draws it with plotly.js.
// Rule: nothing from data is ever parsed as HTML. Text goes into the DOM with textContent, and every string handed
// to plotly (which understands a few HTML-like tags in labels) is entity-escaped first with `esc`.
"use strict";

const SECTIONS = ["pipeline", "tournament", "champion", "drift", "retraining", "alerts", "performance", "serving", "anomalies"];
const PLOT_CONFIG = { displayModeBar: false, responsive: true };
const COLORS = { champion: "#2f6fde", challenger: "#e6a700", none: "#9aa3b2" };

// ---- safe text
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.textContent = v == null ? "" : String(v);
    else if (k === "cls") node.className = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
function fmt(v, digits = 3) {
  if (v == null) return "–";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (isNum(v)) return Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(digits);
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v)) return v.replace("T", " ").slice(0, 19);
  return String(v);
}

// A table from records: `cols` is [[key, header], ...]; badge columns render their value as a label.
function table(target, rows, cols, badges = []) {
  const host = document.getElementById(target);
  if (!rows || !rows.length) { host.replaceChildren(el("p", { cls: "note", text: "no rows" })); return; }
  const head = el("tr", {}, ...cols.map(([, h]) => el("th", { text: h })));
  const body = rows.map((r) => el("tr", {}, ...cols.map(([k]) => {
    const v = r[k];
    if (badges.includes(k) && v != null) return el("td", {}, el("span", { cls: `badge ${String(v).replace(/[^A-Za-z0-9_-]/g, "")}`, text: fmt(v) }));
    return el("td", { cls: isNum(v) ? "num" : "", text: fmt(v), title: v == null ? "" : String(v) });
  })));
  host.replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {}, ...body)));
}

function plot(target, traces, layout = {}) {
  const base = { margin: { l: 50, r: 10, t: 30, b: 60 }, height: 260, font: { size: 11 }, legend: { orientation: "h", y: -0.25 },
                 paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" };
  if (layout.title) layout.title = { text: esc(layout.title), font: { size: 12 } };
  layout.xaxis = { automargin: true, ...(layout.xaxis || {}) };
  layout.yaxis = { automargin: true, ...(layout.yaxis || {}) };
  return Plotly.react(target, traces, { ...base, ...layout }, PLOT_CONFIG);
}

function setPanel(name, data) {
  const panel = document.getElementById(`panel-${name}`);
  const ok = data && data.available;
  panel.classList.toggle("empty", !ok);
  panel.querySelector(".note").textContent = ok ? "" : `No data yet: ${data ? data.note : "not exported"}`;
  return ok;
}

// ---- sections
const R = {};

R.pipeline = (d) => {
  const t = d.tables.filter((x) => x.rows != null);
  plot("chart-tables", [{ type: "bar", x: t.map((x) => esc(x.table)), y: t.map((x) => x.rows), marker: { color: "#2f6fde" } }], { title: "rows per table" });
  const q = d.quarantine_by_rule;
  plot("chart-quarantine", [{ type: "bar", orientation: "h", y: q.map((x) => esc(`${x.dataset}: ${x.rule}`)), x: q.map((x) => x.count),
                              marker: { color: "#d1393c" } }], { title: "quarantined rows by rule", margin: { l: 170, r: 10, t: 30, b: 40 } });
  const s = d.symbols;
  plot("chart-symbols", [{ type: "bar", x: s.map((x) => esc(x.symbol)), y: s.map((x) => x.trades), marker: { color: "#1a9e5a" } }],
       { title: "silver trades per symbol" });
  table("table-collector", [...d.collector_runs].reverse(), [["started_at", "started"], ["source", "source"], ["received", "received"],
        ["landed", "landed"], ["rejected", "rejected"], ["duplicates", "duplicates"], ["reconnects", "reconnects"]]);
};

R.tournament = (d) => {
  const cands = d.rows;
  plot("chart-tournament", cands.map((r) => ({ type: "bar", name: esc(r.rank === 0 ? `${r.model} (baseline)` : `${r.model} (#${r.rank})`),
       x: d.metrics.map(esc), y: d.metrics.map((m) => r[m]), marker: r.rank === 0 ? { color: "#c9ced8" } : {} })),
       { barmode: "group", title: `winner: ${d.winner ?? "?"} on ${d.primary_metric}`, yaxis: { range: [0, 1] } });
  table("table-tournament", cands, [["rank", "rank"], ["model", "model"], ...d.metrics.map((m) => [m, m]), ["train_seconds", "train s"]]);
};

R.champion = (d) => {
  const aliases = Object.entries(d.aliases || {});
  document.getElementById("aliases").replaceChildren(...(aliases.length ? aliases.flatMap(([k, v]) =>
    [el("span", { cls: "badge", text: `${k} → v${v}` }), " "]) : [el("span", { cls: "muted", text: "no aliases in the registry" })]));
  const dec = d.decisions;
  plot("chart-champion", [{ type: "scatter", mode: "lines+markers", line: { shape: "hv" }, x: dec.map((r) => r.decided_at),
       y: dec.map((r) => r.new_champion_version), text: dec.map((r) => esc(`${r.decision}: ${r.reason ?? ""}`)), hoverinfo: "x+y+text",
       name: "champion version" }], { title: "champion version after each gate decision", yaxis: { dtick: 1 } });
  table("table-champion", [...dec].reverse(), [["decided_at", "decided"], ["decision", "decision"], ["challenger_version", "challenger"],
        ["champion_version", "champion"], ["challenger_score", "chall. score"], ["champion_score", "champ. score"], ["reason", "reason"]], ["decision"]);
};

R.drift = (d) => {
  const th = d.thresholds;
  const line = (y, name) => ({ type: "scatter", mode: "lines", x: d.runs.map((r) => r.run_ts), y: d.runs.map(() => y), name: esc(name),
                               line: { dash: "dash", color: "#d1393c", width: 1 }, hoverinfo: "skip" });
  const series = (key) => d.series.map((s) => ({ type: "scatter", mode: "lines+markers", name: esc(s.feature), x: s.run_ts, y: s[key] }));
  plot("chart-drift-psi", [...series("psi"), line(th.psi_alert, "PSI alert")], { title: "PSI per feature", yaxis: { rangemode: "tozero" } });
  plot("chart-drift-js", [...series("js"), line(th.js_alert, "JS alert")], { title: "Jensen-Shannon distance per feature", yaxis: { rangemode: "tozero" } });
  table("table-drift", d.latest, [["feature", "feature"], ["psi", "PSI"], ["js", "JS"], ["verdict", "verdict"]], ["verdict"]);
};

R.retraining = (d) => {
  plot("chart-retraining", [{ type: "bar", x: d.by_action.map((r) => esc(r.action)), y: d.by_action.map((r) => r.count), marker: { color: "#7a5cd6" } }],
       { title: "decisions by action" });
  table("table-retraining", [...d.decisions].reverse(), [["ts", "when"], ["action", "action"], ["reason", "reason"], ["drifted_share", "drifted"],
        ["model_version", "model"]], ["action"]);
};

R.alerts = (d) => table("table-alerts", d.alerts, [["ts", "when"], ["severity", "severity"], ["source", "source"], ["title", "title"],
                                                   ["status", "status"], ["message", "message"]], ["severity", "status"]);

R.performance = (d) => {
  const w = d.windows;
  plot("chart-performance", ["precision", "recall", "average_precision"].map((m) => ({ type: "scatter", mode: "lines+markers", name: m,
       x: w.map((r) => r.window_end), y: w.map((r) => r[m]) })), { title: "on labeled trades, per window", yaxis: { range: [0, 1] } });
};

R.serving = (d) => {
  const entities = [...new Set(d.per_minute.map((r) => r.served_entity))];
  plot("chart-serving", entities.map((e) => {
    const rows = d.per_minute.filter((r) => r.served_entity === e);
    return { type: "bar", name: esc(e), x: rows.map((r) => r.minute), y: rows.map((r) => r.requests), marker: { color: COLORS[e] } };
  }), { barmode: "stack", title: "requests per minute by served model" });
  const st = Object.entries(d.by_status);
  plot("chart-serving-status", [{ type: "bar", x: st.map(([k]) => esc(k)), y: st.map(([, v]) => v),
       marker: { color: st.map(([k]) => (k.startsWith("2") ? "#1a9e5a" : "#d1393c")) } }], { title: "responses by status", xaxis: { type: "category" } });
  table("table-serving-errors", [...d.recent_errors].reverse(), [["request_time", "when"], ["status_code", "status"], ["request_key", "key"], ["error", "reason"]]);
};

R.anomalies = (d) => {
  const p = d.per_symbol;
  plot("chart-anomalies", [{ type: "bar", x: p.map((r) => esc(r.symbol)), y: p.map((r) => r.flagged), marker: { color: "#d1393c" }, name: "flagged" }],
       { title: `${fmt(d.flagged)} of ${fmt(d.scored)} scored trades flagged` });
  const days = d.per_day || [];
  if (days.length) plot("chart-alert-rate", [
      { type: "bar", x: days.map((r) => esc(r.day)), y: days.map((r) => 100 * r.alert_rate), marker: { color: "#d1393c" }, name: "alert rate" },
      { type: "scatter", mode: "lines", x: days.map((r) => esc(r.day)), y: days.map(() => 100 * d.alert_budget), line: { dash: "dash", color: "#555" }, name: "budget" }],
    { title: "alert rate per day (% of scored trades) against the budget", xaxis: { type: "category" } });
  table("table-anomalies", d.top.slice(0, 25), [["ts", "time"], ["symbol", "symbol"], ["price", "price"], ["volume", "volume"],
        ["anomaly_score", "score"], ["instant_score", "instant"], ["is_anomaly", "flagged"], ["reasons", "why"], ["model_version", "model"]]);
};

// ---- key figures
function kpis(data) {
  const cards = [];
  const add = (label, value, cls = "") => cards.push(el("div", { cls: `kpi ${cls}` }, el("div", { cls: "label", text: label }), el("div", { cls: "value", text: value })));
  const p = data.pipeline, c = data.champion, dr = data.drift, s = data.serving, a = data.alerts, an = data.anomalies;
  const rows = (k) => p && p.available ? (p.tables.find((t) => t.table === k) || {}).rows : null;
  add("silver trades", fmt(rows("silver_trades")));
  add("quarantined", fmt(rows("quarantine")), rows("quarantine") ? "bad" : "");
  add("champion", c && c.available && c.aliases && c.aliases.champion ? `v${c.aliases.champion}` : "–");
  const last = dr && dr.available && dr.runs.length ? dr.runs[dr.runs.length - 1] : null;
  add("drift (latest run)", last ? fmt(last.overall_verdict) : "–", last ? (last.overall_verdict === "ok" ? "ok" : "bad") : "");
  add("requests served", s && s.available ? fmt(s.total) : "–");
  add("challenger share", s && s.available && s.challenger_share != null ? `${(100 * s.challenger_share).toFixed(1)}%` : "–");
  add("p99 latency", s && s.available && s.latency_ms.p99 != null ? `${s.latency_ms.p99.toFixed(1)} ms` : "–");
  add("anomalies flagged", an && an.available ? fmt(an.flagged) : "–");
  add("alerts", a && a.available ? fmt(a.alerts.length) : "–", a && a.available && a.alerts.length ? "bad" : "");
  document.getElementById("kpis").replaceChildren(...cards);
}

// ---- loading
async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

function setStatus(ok, text) {
  document.getElementById("status-dot").className = `dot ${ok ? "ok" : "bad"}`;
  document.getElementById("status-text").textContent = text;
}

async function load() {
  let meta;
  try { meta = await getJSON("data/meta.json"); }
  catch (e) { setStatus(false, "no exported metrics yet (run the dashboard_export job)"); return; }
  document.getElementById("subtitle").textContent =
    `env ${meta.env} · ${meta.catalog}.${meta.schema} · model ${meta.model} · endpoint ${meta.endpoint} · exported ${fmt(meta.generated_at)} UTC`;
  const data = {};
  await Promise.all(SECTIONS.map(async (name) => {
    try { data[name] = await getJSON(`data/${name}.json`); } catch (e) { data[name] = { available: false, note: String(e.message) }; }
  }));
  for (const name of SECTIONS) {
    if (!setPanel(name, data[name])) continue;
    try { R[name](data[name]); }
    catch (e) { document.querySelector(`#panel-${name} .note`).textContent = `could not draw this section: ${e.message}`; }
  }
  kpis(data);
  setStatus(true, `updated ${new Date().toLocaleTimeString("en-GB")}`);
  document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
}

async function main() {
  let refresh = 30;
  try { refresh = (await getJSON("config.json")).refresh_seconds || refresh; } catch (e) { /* a static copy of the page: keep the default */ }
  const q = Number(new URLSearchParams(location.search).get("refresh"));
  if (q > 0) refresh = q;
  document.getElementById("refresh").textContent = String(refresh);
  await load();
  setInterval(load, refresh * 1000);
}

main();

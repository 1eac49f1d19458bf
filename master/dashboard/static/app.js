// Tender dashboard: renders the master's summary, pushed by Server-Sent Events each second.
// Plain ES module, no build step; every value from the server is set as text, never as HTML.

const $ = (id) => document.getElementById(id);
const state = { summary: null, history: [], logs: null };
const HISTORY_MS = 15 * 60 * 1000;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const fmt = (n, digits = 1) =>
  Number.isInteger(n) ? String(n) : n.toFixed(digits).replace(/\.?0+$/, "");
const mib = (n) => n >= 1024 ? `${fmt(n / 1024)} GiB` : `${fmt(n)} MiB`;
const pct = (x) => `${fmt(x * 100)}%`;

function usageCell(u, unit = (n) => fmt(n)) {
  const ratio = u.total > 0 ? u.used / u.total : 0;
  return el(
    "td",
    { class: "num" },
    el("meter", {
      min: 0,
      max: 1,
      value: ratio,
      high: 0.9,
      "aria-label": `${pct(ratio)} used`,
    }),
    `${unit(u.used)} / ${unit(u.total)}`,
  );
}

function card(title, u, unit) {
  const ratio = u.total > 0 ? u.used / u.total : 0;
  return el(
    "div",
    { class: "card" },
    el("h3", { text: title }),
    el("div", { class: "big", text: `${unit(u.used)} / ${unit(u.total)}` }),
    el("meter", { min: 0, max: 1, value: ratio, "aria-label": `${title}: ${pct(ratio)} used` }),
    el("div", { class: "muted", text: `${unit(u.offered)} offered` }),
  );
}

function replaceRows(tbody, rows, empty, columns) {
  const focused = document.activeElement?.dataset?.key;
  tbody.replaceChildren(
    ...(rows.length > 0
      ? rows
      : [el("tr", {}, el("td", { colspan: columns, class: "muted", text: empty }))]),
  );
  if (focused) tbody.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

function renderCards(s) {
  const c = s.cluster;
  $("cards").replaceChildren(
    card("CPUs", c.cpus, (n) => fmt(n, 2)),
    card("Memory", c.mem, mib),
    card("Disk", c.disk, mib),
    card("Ports", c.ports, (n) => fmt(n)),
    el(
      "div",
      { class: "card" },
      el("h3", { text: "Agents" }),
      el("div", {
        class: "big",
        text: `${s.agents.filter((a) => a.status === "active").length} / ${s.agents.length}`,
      }),
      el("div", { class: "muted", text: "active / registered" }),
    ),
  );
}

function renderChart(id, key, unit) {
  const W = 600, H = 160, L = 48, R = 8, T = 10, B = 22;
  const now = state.summary?.time ?? Date.now();
  const points = state.history.filter((p) => p.t >= now - HISTORY_MS);
  const max = Math.max(
    1,
    ...points.map((p) => p[`${key}Total`]),
    ...points.map((p) => p[`${key}Used`]),
  );
  // The window grows with the history, from one minute to fifteen.
  const span = Math.min(HISTORY_MS, Math.max(60_000, now - (points[0]?.t ?? now)));
  const x = (t) => L + (W - L - R) * (1 - (now - t) / span);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svgNs = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNs, "svg");
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(svgNs, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("preserveAspectRatio", "none");
  const last = points.at(-1);
  const desc = last
    ? `Now ${unit(last[`${key}Used`])} used of ${unit(last[`${key}Total`])}`
    : "No samples yet";
  svg.setAttribute("aria-label", desc);
  for (const f of [0, 0.5, 1]) {
    node("line", { class: "grid", x1: L, x2: W - R, y1: y(max * f), y2: y(max * f) });
    node("text", { x: L - 4, y: y(max * f) + 4, "text-anchor": "end" }, unit(max * f));
  }
  const ago = (ms) => ms >= 60_000 ? `-${fmt(ms / 60_000)}m` : `-${Math.round(ms / 1000)}s`;
  for (const f of [1, 2 / 3, 1 / 3]) {
    node("text", { x: x(now - span * f), y: H - 6, "text-anchor": "middle" }, ago(span * f));
  }
  node("text", { x: W - R, y: H - 6, "text-anchor": "end" }, "now");
  if (points.length > 0) {
    const line = (k) => points.map((p) => `${x(p.t).toFixed(1)},${y(p[k]).toFixed(1)}`).join(" ");
    const first = points[0], end = points.at(-1);
    node("polygon", {
      class: "used",
      points: `${x(first.t)},${y(0)} ${line(`${key}Used`)} ${x(end.t)},${y(0)}`,
    });
    node("polyline", { class: "total", points: line(`${key}Total`) });
  }
  $(id).replaceChildren(svg);
}

function renderAgents(s) {
  replaceRows(
    $("agents-body"),
    s.agents.map((a) =>
      el(
        "tr",
        {},
        el("th", { scope: "row", title: a.id }, `${a.hostname}:${a.port}`),
        el("td", { class: `state state-${a.status}`, text: a.status }),
        el("td", { class: "num", text: String(a.tasks) }),
        usageCell(a.resources.cpus, (n) => fmt(n, 2)),
        usageCell(a.resources.mem, mib),
        usageCell(a.resources.disk, mib),
        usageCell(a.resources.ports),
      )
    ),
    "No agents registered.",
    7,
  );
}

function renderFrameworks(s) {
  replaceRows(
    $("frameworks-body"),
    s.frameworks.map((f) =>
      el(
        "tr",
        {},
        el("th", { scope: "row", title: f.id }, f.name),
        el("td", { text: f.role }),
        el("td", { class: f.connected ? "ok" : "bad", text: f.connected ? "yes" : "no" }),
        el("td", { class: "num", text: String(f.tasks) }),
        el("td", { class: "num", text: fmt(f.cpus, 2) }),
        el("td", { class: "num", text: mib(f.mem) }),
        el(
          "td",
          { class: "num" },
          el("meter", {
            min: 0,
            max: 1,
            value: f.share,
            "aria-label": `DRF share ${pct(f.share)}`,
          }),
          pct(f.share),
        ),
      )
    ),
    "No frameworks registered.",
    7,
  );
}

function renderApps(s) {
  const none = s.apps === null;
  $("apps-empty").hidden = !none;
  $("apps-table").hidden = none;
  if (none) return;
  replaceRows(
    $("apps-body"),
    s.apps.map((a) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, a.id),
        el("td", { class: "num", text: String(a.instances) }),
        el("td", { class: "num", text: String(a.running) }),
        el("td", {
          class: a.healthy === a.instances ? "num ok" : "num bad",
          text: `${a.healthy} / ${a.instances}`,
        }),
        a.deployment
          ? el(
            "td",
            {},
            el("progress", {
              max: 1,
              value: a.deployment.progress,
              "aria-label": `Deployment of ${a.id}: ${pct(a.deployment.progress)}`,
            }),
            ` ${pct(a.deployment.progress)}${a.deployment.step ? ` ${a.deployment.step}` : ""}`,
          )
          : el("td", { class: "muted", text: "stable" }),
      )
    ),
    "No apps.",
    5,
  );
}

function renderJobs(s) {
  const none = s.jobs === null || s.jobs === undefined;
  $("jobs-empty").hidden = !none;
  $("jobs-table").hidden = none;
  if (none) return;
  const last = (j) => {
    const ok = j.lastSuccessAt, bad = j.lastFailureAt;
    if (!ok && !bad) return el("td", { class: "muted", text: "never" });
    return ok && (!bad || ok > bad)
      ? el("td", { class: "ok", text: `succeeded ${ok}` })
      : el("td", { class: "bad", text: `failed ${bad}` });
  };
  replaceRows(
    $("jobs-body"),
    s.jobs.map((j) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, j.id),
        el("td", { class: j.schedule ? "" : "muted", text: j.schedule ?? "none" }),
        el("td", { class: j.nextRunAt ? "" : "muted", text: j.nextRunAt ?? "-" }),
        el(
          "td",
          { class: j.activeRuns.length ? "" : "muted" },
          j.activeRuns.length ? j.activeRuns.map((r) => `${r.id} ${r.status}`).join(", ") : "none",
        ),
        el("td", { class: "num", text: String(j.successCount) }),
        el("td", { class: j.failureCount ? "num bad" : "num", text: String(j.failureCount) }),
        last(j),
      )
    ),
    "No jobs.",
    7,
  );
}

function taskMatches(t) {
  const q = $("task-filter").value.trim().toLowerCase();
  const st = $("task-state").value;
  if (q && ![t.id, t.name, t.framework, t.agent].some((v) => v.toLowerCase().includes(q))) {
    return false;
  }
  if (st === "active") return !t.completed;
  if (st === "terminal") return t.completed;
  return !st || t.state === st;
}

function renderTasks(s) {
  replaceRows(
    $("tasks-body"),
    s.tasks.filter(taskMatches).map((t) =>
      el(
        "tr",
        {},
        el("th", { scope: "row", title: t.name }, t.id),
        el("td", { title: t.frameworkId, text: t.framework }),
        el("td", { title: t.agentId, text: t.agent }),
        el("td", { class: `state state-${t.state}`, text: t.state }),
        el("td", {
          class: t.healthy === undefined ? "muted" : t.healthy ? "ok" : "bad",
          text: t.healthy === undefined ? "—" : t.healthy ? "healthy" : "unhealthy",
        }),
        el("td", { class: "num", text: fmt(t.cpus, 2) }),
        el("td", { class: "num", text: mib(t.mem) }),
        el(
          "td",
          {},
          el("button", {
            type: "button",
            "data-key": `logs:${t.frameworkId}:${t.id}`,
            "aria-label": `Logs of task ${t.id}`,
            onclick: () => openLogs(t),
            text: "Logs",
          }),
        ),
      )
    ),
    "No tasks.",
    8,
  );
}

function render() {
  const s = state.summary;
  if (!s) return;
  $("master-id").textContent = s.masterId;
  renderCards(s);
  renderChart("chart-cpus", "cpus", (n) => fmt(n, 2));
  renderChart("chart-mem", "mem", mib);
  renderAgents(s);
  renderFrameworks(s);
  renderApps(s);
  renderJobs(s);
  renderTasks(s);
}

async function openLogs(task) {
  state.logs?.abort();
  const controller = new AbortController();
  state.logs = controller;
  const section = $("logs");
  section.hidden = false;
  $("logs-h").textContent = `Logs of task ${task.id}`;
  section.dataset.agent = task.agentId;
  section.dataset.task = task.id;
  const out = $("log-output");
  out.textContent = "";
  const stream = $("log-stream").value;
  const follow = $("log-follow").checked && !task.completed;
  const url = `/dashboard/logs/${encodeURIComponent(task.agentId)}/${
    encodeURIComponent(task.id)
  }?stream=${stream}&tail=200${follow ? "&follow=true" : ""}`;
  section.scrollIntoView({ block: "start" });
  out.focus();
  try {
    const r = await fetch(url, { signal: controller.signal });
    if (!r.ok) {
      out.textContent = `Cannot read the logs (${r.status}): ${await r.text()}`;
      return;
    }
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
      out.append(value);
      if (atEnd) out.scrollTop = out.scrollHeight;
    }
    if (out.textContent === "") out.textContent = `(no ${stream} output)`;
  } catch (e) {
    if (!controller.signal.aborted) out.append(`\n[log stream ended: ${e.message}]`);
  }
}

function reopenLogs() {
  const section = $("logs");
  const task = state.summary?.tasks.find((t) =>
    t.id === section.dataset.task && t.agentId === section.dataset.agent
  );
  if (task) openLogs(task);
}

function connect() {
  const live = $("live");
  const events = new EventSource("/dashboard/events");
  events.addEventListener("open", () => {
    live.textContent = "Live";
    live.dataset.state = "live";
  });
  events.addEventListener("error", () => {
    live.textContent = "Reconnecting…";
    live.dataset.state = "down";
  });
  events.addEventListener("history", (e) => {
    state.history = JSON.parse(e.data);
  });
  events.addEventListener("summary", (e) => {
    const s = JSON.parse(e.data);
    if (s.point) {
      state.history.push(s.point);
      const cut = s.time - HISTORY_MS;
      while (state.history.length > 0 && state.history[0].t < cut) state.history.shift();
    }
    state.summary = s;
    render();
  });
}

$("task-filter").addEventListener("input", render);
$("task-state").addEventListener("change", render);
$("task-filters").addEventListener("submit", (e) => e.preventDefault());
$("log-controls").addEventListener("submit", (e) => e.preventDefault());
$("log-stream").addEventListener("change", reopenLogs);
$("log-follow").addEventListener("change", reopenLogs);
$("log-close").addEventListener("click", () => {
  state.logs?.abort();
  $("logs").hidden = true;
});
connect();

// teem dashboard: one page, four views, fed by the scheduler's event stream (/api/events).
//
// Every update is a status document (see teem/distributed/dashboard/views.py): workers,
// progress per task prefix, totals, and the task-stream rectangles finished since the last
// update, as [row, prefix, start, stop, count, erred].  Times are the scheduler's clock: the
// page uses the document's "time" as "now", so a browser on another machine (ssh -L) with a
// different clock still draws the last seconds correctly.
"use strict";

const STREAM_WINDOW = 20;          // seconds of task stream shown
const GRAPH_POLL_MS = 1000;
const state = { doc: null, rects: [], rows: [], now: 0, updates: 0, view: "status", graphTimer: null };

// ------------------------------------------------------------------ small helpers

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") node.style.cssText = v;
    else if (k.startsWith("data-") || k === "class" || k === "title") node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function formatBytes(n) {
  if (!n) return "0 B";
  const units = ["B", "kiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}

function formatAgo(seconds) {
  if (seconds < 1) return "now";
  if (seconds < 60) return `${seconds.toFixed(0)} s ago`;
  return `${(seconds / 60).toFixed(0)} min ago`;
}

// A stable colour per task prefix (a hash of the name picks the hue).
const colourCache = new Map();
function colourOf(prefix) {
  let c = colourCache.get(prefix);
  if (!c) {
    let h = 0;
    for (let i = 0; i < prefix.length; i++) h = (h * 31 + prefix.charCodeAt(i)) >>> 0;
    c = `hsl(${h % 360}, 62%, ${45 + (h >> 9) % 15}%)`;
    colourCache.set(prefix, c);
  }
  return c;
}

function sizedCanvas(canvas, height) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 800;
  if (height) canvas.style.height = `${height}px`;
  const h = canvas.clientHeight || height || 160;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, h);
  return { ctx, width, height: h };
}

// Keep a container's rows in step with a list: rows are made once per key and then only
// updated where a value changed, so a redraw costs the browser (and this machine) little.
function syncRows(container, items, keyOf, make, update) {
  const byKey = container._rows || (container._rows = new Map());
  const wanted = new Set();
  let previous = null;
  for (const item of items) {
    const key = keyOf(item);
    wanted.add(key);
    let row = byKey.get(key);
    if (!row) { row = make(item); byKey.set(key, row); }
    update(row, item);
    const expected = previous ? previous.nextSibling : container.firstChild;
    if (row !== expected) container.insertBefore(row, expected);
    previous = row;
  }
  for (const [key, row] of byKey) if (!wanted.has(key)) { row.remove(); byKey.delete(key); }
}

function setText(node, text) { if (node.textContent !== text) node.textContent = text; }
function setStyle(node, name, value) { if (node.style[name] !== value) node.style[name] = value; }
function setData(node, name, value) { value = String(value); if (node.dataset[name] !== value) node.dataset[name] = value; }

function emptyNote(container, empty, text) {
  let note = container.querySelector(":scope > .empty");
  if (empty && !note) container.append(el("p", { class: "empty" }, text));
  if (!empty && note) note.remove();
}

// ------------------------------------------------------------------ views

function showView(name) {
  state.view = name;
  for (const section of document.querySelectorAll(".view"))
    section.classList.toggle("shown", section.id === `view-${name}`);
  for (const link of document.querySelectorAll("nav a"))
    link.classList.toggle("active", link.dataset.view === name);
  clearInterval(state.graphTimer);
  if (name === "graph") { loadGraph(); state.graphTimer = setInterval(loadGraph, GRAPH_POLL_MS); }
  if (name === "info") loadInfo();
  render();
}

function render() {
  if (!state.doc) return;
  renderSummary(state.doc);
  if (state.view === "status") { renderStream(); renderProgress(state.doc.progress); renderMemory(state.doc.workers); }
  if (state.view === "workers") renderWorkers(state.doc.workers);
}

function renderSummary(doc) {
  const t = doc.totals;
  setText($("#summary"),
    `${t.workers} workers · ${t.threads} threads · ${formatBytes(t.memory)} used` +
    ` · tasks ${t.done}/${t.tasks} done, ${t.processing} running` + (t.erred ? `, ${t.erred} erred` : ""));
}

// A label, a bar of coloured segments and a count: one progress or memory row.
function makeBarRow(className, segments) {
  return el("div", { class: `bar-row ${className}` }, el("span", { class: "label" }),
    el("div", { class: "bar" }, ...segments.map((c) => el("span", { class: c }))), el("span", { class: "count" }));
}

function renderProgress(rows) {
  const box = $("#progress");
  emptyNote(box, !rows.length, "no tasks");
  syncRows(box, rows, (r) => r.prefix,
    () => makeBarRow("progress-row", ["done", "processing", "erred"]),
    (row, r) => {
      const pct = (n) => `${(100 * n / r.total).toFixed(2)}%`;
      const [label, bar, count] = row.children;
      setText(label, r.prefix); label.title = r.prefix;
      const [done, processing, erred] = bar.children;
      setStyle(done, "width", pct(r.done)); setStyle(done, "background", colourOf(r.prefix));
      setStyle(processing, "width", pct(r.processing));
      setStyle(erred, "width", pct(r.erred));
      setText(count, `${r.done} / ${r.total}` + (r.erred ? ` (${r.erred} erred)` : ""));
      setData(row, "prefix", r.prefix); setData(row, "done", r.done);
      setData(row, "total", r.total); setData(row, "erred", r.erred);
    });
}

function renderMemory(workers) {
  const box = $("#memory");
  emptyNote(box, !workers.length, "no workers");
  const scale = Math.max(1, ...workers.map((w) => Math.max(w.memory_limit || 0, w.memory + w.spilled)));
  syncRows(box, workers, (w) => w.address,
    () => makeBarRow("memory-row", ["managed", "unmanaged", "spilled"]),
    (row, w) => {
      const pct = (n) => `${(100 * n / scale).toFixed(2)}%`;
      const managedBytes = Math.min(w.managed, w.memory);
      const colour = w.memory_limit && w.memory > 0.8 * w.memory_limit ? "var(--bad)" : "var(--accent)";
      const [label, bar, count] = row.children;
      setText(label, w.name); label.title = w.address;
      const [managed, unmanaged, spilled] = bar.children;
      setStyle(managed, "width", pct(managedBytes)); setStyle(managed, "background", colour);
      setStyle(unmanaged, "width", pct(w.memory - managedBytes)); setStyle(unmanaged, "background", colour);
      setStyle(spilled, "width", pct(w.spilled));
      const limit = w.memory_limit ? ` / ${formatBytes(w.memory_limit)}` : "";
      setText(count, formatBytes(w.memory) + limit + (w.spilled ? ` +${formatBytes(w.spilled)} disk` : ""));
      setData(row, "worker", w.address);
    });
}

const WORKER_COLUMNS = [
  (w) => w.name, (w) => w.address, (w) => w.nthreads, (w) => w.cpu.toFixed(0),
  (w) => formatBytes(w.memory), (w) => (w.memory_limit ? formatBytes(w.memory_limit) : "none"),
  (w) => formatBytes(w.managed), (w) => formatBytes(w.spilled), (w) => w.executing, (w) => w.ready,
  (w) => w.processing, (w) => w.nkeys, (w) => (w.last_seen ? formatAgo(state.now - w.last_seen) : ""),
];

function renderWorkers(workers) {
  syncRows($("#workers-table tbody"), workers, (w) => w.address,
    () => el("tr", {}, ...WORKER_COLUMNS.map((_, i) => el("td", { class: i > 1 && i < 12 ? "num" : "" }))),
    (row, w) => {
      WORKER_COLUMNS.forEach((column, i) => setText(row.children[i], String(column(w))));
      setData(row, "address", w.address); setData(row, "name", w.name);
    });
}

// The task stream: rows are worker threads ("name/thread"), x is time over the last window.
function renderStream() {
  const canvas = $("#stream-canvas");
  const rows = state.rows;
  const rowHeight = 16;
  const { ctx, width, height } = sizedCanvas(canvas, Math.max(80, 24 + rows.length * rowHeight));
  const left = 90, right = width - 8, top = 4;
  const t1 = state.now, t0 = t1 - STREAM_WINDOW;
  const x = (t) => left + (right - left) * (t - t0) / STREAM_WINDOW;
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  rows.forEach((row, i) => {
    ctx.fillStyle = i % 2 ? "#f6f7f9" : "#fff";
    ctx.fillRect(left, top + i * rowHeight, right - left, rowHeight);
    ctx.fillStyle = "#666";
    ctx.fillText(row.length > 14 ? "…" + row.slice(-13) : row, 2, top + i * rowHeight + rowHeight / 2);
  });
  let drawn = 0;
  const rowIndex = new Map(rows.map((r, i) => [r, i]));
  for (const [row, prefix, start, stop, , erred] of state.rects) {
    if (stop < t0) continue;
    const i = rowIndex.get(row);
    const x0 = Math.max(left, x(start)), x1 = Math.max(x0 + 1, x(stop));
    ctx.fillStyle = erred ? "#c0392b" : colourOf(prefix);
    ctx.fillRect(x0, top + i * rowHeight + 1, x1 - x0, rowHeight - 2);
    drawn++;
  }
  ctx.fillStyle = "#888";
  ctx.textBaseline = "alphabetic";
  for (let s = 0; s <= STREAM_WINDOW; s += 5) {
    const label = s === STREAM_WINDOW ? "now" : `-${STREAM_WINDOW - s}s`;
    ctx.fillText(label, Math.min(x(t0 + s) - 8, right - 20), height - 4);
  }
  canvas.dataset.rects = String(drawn);
  const prefixes = [...new Set(state.rects.map((r) => r[1]))].sort();
  syncRows($("#stream-legend"), prefixes, (p) => p,
    (p) => el("span", {}, el("i", { style: `background:${colourOf(p)}` }), p), () => {});
}

function streamTooltip(event) {
  const canvas = $("#stream-canvas"), tip = $("#tooltip");
  const box = canvas.getBoundingClientRect();
  const left = 90, right = box.width - 8, rowHeight = 16;
  const i = Math.floor((event.clientY - box.top - 4) / rowHeight);
  const t = state.now - STREAM_WINDOW + STREAM_WINDOW * (event.clientX - box.left - left) / (right - left);
  const row = state.rows[i];
  const hit = state.rects.find((r) => r[0] === row && r[2] <= t + 0.05 && r[3] >= t - 0.05);
  if (!hit) { tip.hidden = true; return; }
  const [, prefix, start, stop, n, erred] = hit;
  tip.textContent = `${prefix}: ${n} task${n > 1 ? "s" : ""}, ${((stop - start) * 1000).toFixed(1)} ms on ${row}` +
    (erred ? " (erred)" : "");
  tip.style.left = `${event.clientX + 12}px`;
  tip.style.top = `${event.clientY + 12}px`;
  tip.hidden = false;
}

// ------------------------------------------------------------------ graph

const STATE_COLOURS = ["#c9ced6", "#9fb3c8", "#f0b429", "#3a9a5b", "#c0392b", "#7b8794"];
const STATE_NAMES = ["waiting", "queued", "processing", "in memory", "erred", "released"];

async function loadGraph() {
  let graph;
  try { graph = await (await fetch("/api/graph", { cache: "no-store" })).json(); }
  catch (err) { return; }
  const canvas = $("#graph-canvas");
  const note = $("#graph-note");
  const { ctx, width, height } = sizedCanvas(canvas, 480);
  canvas.dataset.nodes = String(graph.nodes.length);
  if (graph.ntasks > graph.limit) {
    note.textContent = `${graph.ntasks} tasks: above ${graph.limit}, not drawn`;
    return;
  }
  note.textContent = `${graph.ntasks} tasks`;
  if (!graph.nodes.length) return;
  const layers = Math.max(...graph.nodes.map((n) => n[0])) + 1;
  const pad = 12;
  const px = (n) => pad + (width - 2 * pad) * (layers > 1 ? n[0] / (layers - 1) : 0.5);
  const py = (n) => pad + (height - 2 * pad) * n[1];
  ctx.strokeStyle = "rgba(120,130,140,0.35)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const [a, b] of graph.edges) {
    const na = graph.nodes[a], nb = graph.nodes[b];
    ctx.moveTo(px(na), py(na));
    ctx.lineTo(px(nb), py(nb));
  }
  ctx.stroke();
  const r = graph.nodes.length > 1000 ? 2 : 4;
  for (const n of graph.nodes) {
    ctx.fillStyle = STATE_COLOURS[n[2]] || "#999";
    ctx.beginPath();
    ctx.arc(px(n), py(n), r, 0, 2 * Math.PI);
    ctx.fill();
  }
  $("#graph-legend").replaceChildren(...STATE_NAMES.map((s, i) =>
    el("span", {}, el("i", { style: `background:${STATE_COLOURS[i]}` }), s)));
}

// ------------------------------------------------------------------ info and logs

async function loadInfo() {
  let info;
  try { info = await (await fetch("/api/info", { cache: "no-store" })).json(); }
  catch (err) { return; }
  const body = $("#info-table tbody");
  const started = new Date(info.started * 1000);
  const pairs = [["address", info.address], ["id", info.id], ["dashboard", info.dashboard || ""],
    ["started", started.toLocaleString()], ["workers", Object.keys(info.workers).length],
    ["tasks", info.ntasks], ["clients", info.nclients]];
  body.replaceChildren(...pairs.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))));
  const logs = $("#logs");
  const section = (title, lines) => [el("h3", {}, title), ...(lines.length ? lines.map(([t, level, name, msg]) =>
    el("div", { class: `line ${level}` }, `${new Date(t * 1000).toLocaleTimeString()} ${level} ${name}: ${msg}`))
    : [el("p", { class: "empty" }, "nothing logged")])];
  logs.replaceChildren(...section("scheduler", info.logs),
    ...Object.entries(info.worker_logs).flatMap(([name, lines]) => section(`worker ${name}`, lines)));
}

// ------------------------------------------------------------------ live updates

function applyUpdate(doc) {
  state.doc = doc;
  state.now = doc.time;
  state.updates++;
  if (doc.full) state.rects = [];
  const oldest = state.now - STREAM_WINDOW;
  state.rects = state.rects.filter((r) => r[3] >= oldest).concat(doc.stream);
  const known = new Set(state.rows);
  for (const r of doc.stream) if (!known.has(r[0])) { known.add(r[0]); state.rows.push(r[0]); }
  const live = new Set(doc.workers.map((w) => w.name));
  state.rows = state.rows.filter((row) => live.has(row.slice(0, row.lastIndexOf("/")))).sort();
  const conn = $("#connection");
  conn.dataset.updates = String(state.updates);
  render();
}

function connect() {
  const conn = $("#connection");
  const source = new EventSource("/api/events");
  source.onopen = () => { conn.textContent = "live"; conn.className = "connection live"; };
  source.onmessage = (event) => applyUpdate(JSON.parse(event.data));
  source.onerror = () => {
    conn.textContent = "disconnected: retrying";
    conn.className = "connection offline";
  };
}

function start() {
  const name = location.pathname.replace(/^\/+|\/+$/g, "") || "status";
  for (const link of document.querySelectorAll("nav a")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      history.pushState({}, "", link.getAttribute("href"));
      showView(link.dataset.view);
    });
  }
  window.addEventListener("popstate", () => showView(location.pathname.replace(/^\/+/, "") || "status"));
  window.addEventListener("resize", render);
  $("#logs-refresh").addEventListener("click", loadInfo);
  $("#stream-canvas").addEventListener("mousemove", streamTooltip);
  $("#stream-canvas").addEventListener("mouseleave", () => { $("#tooltip").hidden = true; });
  showView(["status", "workers", "graph", "info"].includes(name) ? name : "status");
  connect();
}

start();

// The live view of a gossipd testnet (served by tools/testnet, docs/TESTNET.md).
// GET /info gives the testnet's nodes and links; GET /events streams the nodes'
// log events (docs/LOGGING.md) as Server-Sent Events, the past first, then live.
// The page draws the topology, lights the nodes in the order the followed block
// (or tx) reached them, highlights the link each node first got it over, plots
// coverage against time and keeps a table of the items. Plain JS and SVG.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const MAX_ITEMS = 400;        // items remembered (oldest dropped)
const TABLE_ROWS = 40;        // rows shown
const CURVES = 12;            // blocks drawn in the coverage plot

const state = {
  nodes: [],                  // names, in layout order
  pos: {},                    // name -> {x, y}
  edges: new Map(),           // "a|b" (sorted) -> true
  down: new Set(),
  items: new Map(),           // hash -> item
  order: [],                  // hashes, oldest first
  focus: null,                // hash of the followed item
  pinned: false,              // focus chosen by a click
  live: false,
  expected: 0,                // node count announced by /info (0: unknown)
};

function el(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

function natural(a, b) {
  return a.localeCompare(b, undefined, { numeric: true });
}

function short(h) {
  return !h ? "" : h.length <= 14 ? h : h.slice(0, 4) + ".." + h.slice(-8);
}

function fmtMs(v) {
  if (v === null || v === undefined) return "-";
  if (v >= 1000) return (v / 1000).toFixed(2) + " s";
  if (v >= 100) return v.toFixed(0) + " ms";
  return v.toFixed(1) + " ms";
}

function tsMs(ts) {
  // "2026-12-01T23:26:43.838298Z": Date.parse keeps ms; add the microseconds.
  const ms = Date.parse(ts);
  const m = /\.(\d{3})(\d*)Z?$/.exec(ts || "");
  return m && m[2] ? ms + Number("0." + m[2]) : ms;
}

function nodeCount() {
  return Math.max(state.expected, state.nodes.length);
}

// ------------------------------------------------------------------ topology

function addNode(name) {
  if (!name || state.pos[name]) return false;
  state.nodes.push(name);
  state.nodes.sort(natural);
  layout();
  return true;
}

function edgeKey(a, b) {
  return a < b ? a + "|" + b : b + "|" + a;
}

function addEdge(a, b) {
  if (!a || !b || a === b) return;
  addNode(a);
  addNode(b);
  const k = edgeKey(a, b);
  if (!state.edges.has(k)) {
    state.edges.set(k, true);
    drawTopology();
  }
}

function layout() {
  const n = state.nodes.length;
  const r = n > 1 ? 240 : 0;
  state.nodes.forEach((name, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
    state.pos[name] = { x: 300 + r * Math.cos(a), y: 300 + r * Math.sin(a) };
  });
  drawTopology();
}

function drawTopology() {
  const svg = document.getElementById("topology");
  svg.textContent = "";
  svg.setAttribute("data-nodes", String(state.nodes.length));
  svg.setAttribute("data-links", String(state.edges.size));
  const it = state.items.get(state.focus);
  const first = new Set();
  if (it) {
    for (const [node, src] of Object.entries(it.src))
      if (src) first.add(edgeKey(node, src));
  }
  const ge = el("g", {}, svg);
  for (const k of state.edges.keys()) {
    const [a, b] = k.split("|");
    const pa = state.pos[a], pb = state.pos[b];
    if (!pa || !pb) continue;
    el("line", { x1: pa.x, y1: pa.y, x2: pb.x, y2: pb.y, id: "edge-" + k,
                 class: "edge" + (first.has(k) ? " first" : "") }, ge);
  }
  const arrival = it ? Object.entries(it.have).sort((x, y) => x[1] - y[1]).map(x => x[0]) : [];
  for (const name of state.nodes) {
    const p = state.pos[name];
    const k = arrival.indexOf(name);
    let cls = "node";
    if (k >= 0) cls += it.origin === name ? " origin lit" : " lit";
    if (state.down.has(name)) cls += " down";
    const g = el("g", { class: cls, "data-node": name, id: "node-" + name,
                        transform: "translate(" + p.x + "," + p.y + ")" }, svg);
    el("circle", { r: 20 }, g);
    const label = el("text", { y: 36 }, g);
    label.textContent = name;
    if (k >= 0) {
      const o = el("text", { y: 4, class: "order" }, g);
      o.textContent = String(k + 1);
    }
  }
  const f = document.getElementById("focus");
  if (it) {
    const n = nodeCount();
    f.textContent = (it.kind === "block" ? "block #" + it.height : "tx") + " " +
      short(it.hash) + " from " + (it.origin || "?") + ": " +
      Object.keys(it.have).length + "/" + n + " nodes" +
      (it.t100 !== null ? ", all in " + fmtMs(it.t100) : "");
    f.setAttribute("data-hash", it.hash);
    f.setAttribute("data-reached", String(Object.keys(it.have).length));
  }
}

function pulse(node, src) {
  const p = state.pos[node];
  if (!p) return;
  const svg = document.getElementById("topology");
  const c = el("circle", { cx: p.x, cy: p.y, r: 20, class: "pulse" }, svg);
  setTimeout(() => c.remove(), 900);
  if (src) {
    const e = document.getElementById("edge-" + edgeKey(node, src));
    if (e) {
      e.classList.add("flash");
      setTimeout(() => e.classList.remove("flash"), 400);
    }
  }
}

// ------------------------------------------------------------------ items

function item(kind, hash) {
  let it = state.items.get(hash);
  if (!it) {
    it = { kind, hash, height: null, origin: null, t0: null, have: {}, src: {},
           t50: null, t90: null, t100: null, hops: 0, hop: {} };
    state.items.set(hash, it);
    state.order.push(hash);
    while (state.order.length > MAX_ITEMS) state.items.delete(state.order.shift());
  }
  return it;
}

function seen(it, node, t, src, origin) {
  if (node in it.have) return false;
  if (origin || it.t0 === null) {
    if (origin || it.origin === null) { it.origin = node; }
    if (it.t0 === null || t < it.t0) it.t0 = t;
  }
  it.have[node] = t;
  it.src[node] = src || null;
  const h = src && src in it.hop ? it.hop[src] + 1 : (origin ? 0 : null);
  it.hop[node] = h;
  if (h !== null && h > it.hops) it.hops = h;
  figures(it);
  return true;
}

function figures(it) {
  const n = nodeCount();
  const times = Object.values(it.have).map(t => Math.max(0, t - it.t0)).sort((a, b) => a - b);
  const at = p => {
    const need = Math.max(1, Math.ceil(n * p));
    return times.length >= need ? times[need - 1] : null;
  };
  it.t50 = at(0.5);
  it.t90 = at(0.9);
  it.t100 = at(1.0);
}

function onEvent(ev) {
  const node = ev.node;
  const t = tsMs(ev.ts);
  const src = ev.peer_name || null;
  addNode(node);
  let changed = null;
  switch (ev.event) {
  case "node_start":
    state.down.delete(node);
    drawTopology();
    break;
  case "node_stop":
    state.down.add(node);
    drawTopology();
    break;
  case "peer_connected":
    addEdge(node, src);
    break;
  case "block_mined": {
    const it = item("block", ev.hash);
    it.height = ev.height;
    if (seen(it, node, t, null, true)) changed = it;
    break;
  }
  case "block_received": {
    if (ev.first_seen === false || ev.first_seen === "false") break;
    const it = item("block", ev.hash);
    if (it.height === null) it.height = ev.height;
    if (src) addEdge(node, src);
    if (seen(it, node, t, src, false)) changed = it;
    break;
  }
  case "tx_accepted": {
    const it = item("tx", ev.txid);
    if (ev.source === "rpc") {
      if (seen(it, node, t, null, true)) changed = it;
    } else if (ev.first_seen !== false || !(node in it.have)) {
      if (seen(it, node, t, src, false)) changed = it;
    }
    break;
  }
  }
  if (!changed) return;
  if (changed.kind === "block" && !state.pinned &&
      (state.focus === null || changed.hash !== state.focus) &&
      changed.origin === node) {
    state.focus = changed.hash;          // a new block: follow it
  }
  if (state.live && changed.kind === "tx") pulse(node, src);
  schedule();
}

// ------------------------------------------------------------------ coverage plot

function drawCoverage() {
  const svg = document.getElementById("coverage");
  svg.textContent = "";
  const L = 48, T = 10, W = 480, H = 200;
  const blocks = state.order.map(h => state.items.get(h))
    .filter(it => it && it.kind === "block").slice(-CURVES);
  const focus = state.items.get(state.focus);
  const shown = blocks.slice();
  if (focus && !shown.includes(focus)) shown.push(focus);
  let xmax = 10;
  for (const it of shown)
    for (const t of Object.values(it.have)) xmax = Math.max(xmax, t - it.t0);
  xmax *= 1.1;
  const n = nodeCount() || 1;
  const px = v => L + (v / xmax) * W;
  const py = f => T + H - f * H;
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    el("line", { x1: L, y1: py(f), x2: L + W, y2: py(f), class: "grid" }, svg);
    el("text", { x: L - 6, y: py(f) + 3, class: "tick", "text-anchor": "end" }, svg)
      .textContent = (f * 100) + "%";
  }
  for (let i = 0; i <= 4; i++) {
    const v = (xmax * i) / 4;
    el("text", { x: px(v), y: T + H + 14, class: "tick", "text-anchor": "middle" }, svg)
      .textContent = fmtMs(v);
  }
  el("text", { x: L + W / 2, y: T + H + 32, class: "tick", "text-anchor": "middle" }, svg)
    .textContent = "time since the origin had it (blocks; orange: the followed item)";
  el("rect", { x: L, y: T, width: W, height: H, fill: "none", class: "axis" }, svg);
  for (const it of shown) {
    const times = Object.values(it.have).map(t => Math.max(0, t - it.t0)).sort((a, b) => a - b);
    let d = "M" + px(0) + "," + py(0);
    let prev = 0;
    times.forEach((t, i) => {
      const f = (i + 1) / n;
      d += " L" + px(t) + "," + py(prev) + " L" + px(t) + "," + py(f);
      prev = f;
    });
    d += " L" + px(xmax) + "," + py(prev);
    const path = el("path", { d, class: "curve" + (it === focus ? " focus" : ""),
                              "data-hash": it.hash }, svg);
    const title = el("title", {}, path);
    title.textContent = it.kind + " " + it.hash;
  }
}

// ------------------------------------------------------------------ table

function drawTable() {
  const body = document.querySelector("#items tbody");
  body.textContent = "";
  const n = nodeCount();
  const rows = state.order.slice(-TABLE_ROWS).reverse();
  for (const h of rows) {
    const it = state.items.get(h);
    if (!it) continue;
    const tr = document.createElement("tr");
    const k = Object.keys(it.have).length;
    tr.dataset.hash = h;
    tr.dataset.kind = it.kind;
    tr.dataset.reached = String(k);
    tr.dataset.nodes = String(n);
    if (k >= n) tr.classList.add("complete");
    if (h === state.focus) tr.classList.add("focus");
    const cells = [it.kind, short(h), it.height === null ? "" : it.height, it.origin || "?",
                   k + "/" + n, fmtMs(it.t50), fmtMs(it.t90), fmtMs(it.t100), it.hops];
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = String(c);
      tr.appendChild(td);
    }
    tr.title = h;
    tr.addEventListener("click", () => {
      state.focus = h;
      state.pinned = true;
      schedule();
    });
    body.appendChild(tr);
  }
}

// ------------------------------------------------------------------ redraw, stream

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  const run = () => {
    pending = false;
    drawTopology();
    drawCoverage();
    drawTable();
  };
  if (state.live) requestAnimationFrame(run); else setTimeout(run, 50);
}

function setStatus(text) {
  document.getElementById("status").textContent = text;
}

async function start() {
  try {
    const r = await fetch("info");
    const info = await r.json();
    document.getElementById("title").textContent = info.title || "";
    state.expected = info.nodes.length;
    for (const name of info.nodes) addNode(name);
    for (const [a, b] of info.edges || []) addEdge(a, b);
  } catch (e) {
    setStatus("no /info: " + e);
  }
  const es = new EventSource("events");
  es.onmessage = m => {
    try {
      onEvent(JSON.parse(m.data));
    } catch (e) {              // a bad line: counted, shown in the status, skipped
      state.errors = (state.errors || 0) + 1;
      document.body.dataset.errors = String(state.errors) + " " + e;
    }
  };
  es.addEventListener("live", () => {
    state.live = true;
    document.body.dataset.live = "1";
    setStatus("live: " + nodeCount() + " nodes, " + state.edges.size + " links");
    schedule();
  });
  es.onerror = () => setStatus("disconnected; retrying...");
  schedule();
}

start();

// MonClub's live pages: open the page's server-sent event stream and draw each state it sends.
// No framework, no inline script (the CSP forbids it), text only (textContent, never innerHTML).
// EventSource reconnects by itself (the server asks for a retry after 500 ms), so a page stays
// open through a restart of the web program.
"use strict";

const body = document.body;
const link = document.getElementById("link");
const EVENTS_SHOWN = 200;

function text(tag, value, className) {
  const element = document.createElement(tag);
  element.textContent = value === null || value === undefined ? "-" : String(value);
  if (className) element.className = className;
  return element;
}

function when(epoch) {
  return epoch ? new Date(epoch * 1000).toLocaleString() : "-";
}

function setLink(state, words) {
  link.textContent = words;
  link.className = "link " + state;
}

// ---- the tree --------------------------------------------------------------------------------

function places(state) {
  const rows = [];
  for (const program of state.programs) {
    rows.push({ ...program, place: program.name, depth: 0 });
    for (const child of program.children || []) {
      rows.push({ ...child, place: program.name + "/" + child.name, depth: 1 });
    }
  }
  return rows;
}

function clock(epoch) {
  const at = new Date(epoch * 1000);
  return at.toLocaleTimeString() + "." + String(at.getMilliseconds()).padStart(3, "0");
}

// What the server says of a place's last death: down since when, or back after how long.
function downOrBack(node) {
  if (node.down) return `down since ${clock(node.down.since)}` + (node.down.exact ? "" : " (seen by a read)");
  if (node.back_ms !== undefined) return `back in ${node.back_ms} ms`;
  return null;
}

function load(node) {
  if (node.loaded === undefined || node.loaded === null) return node.url || null;
  const batches = node.commits ? `, ${node.commits} commits of ${node.batch_mean} on average` : "";
  return `loaded ${node.loaded}, handled ${node.handled}` + batches;
}

function treeCells(node) {
  const uptime = node.uptime === null || node.uptime === undefined ? null : node.uptime.toFixed(1) + " s";
  return [
    text("td", (node.depth ? "└ " : "") + node.place, "place"),
    text("td", node.pid, "pid"),
    text("td", node.state, "state " + node.state),
    text("td", uptime),
    text("td", node.restarts),
    text("td", load(node)),
    text("td", node.lag),
    text("td", node.last_exit),
    text("td", downOrBack(node), "back"),
  ];
}

function killButton(place) {
  const cell = document.createElement("td");
  if (place !== "supervisord") {
    const button = text("button", "kill -9", "kill");
    button.dataset.place = place;
    cell.appendChild(button);
  }
  return cell;
}

function drawTree(state) {
  const table = document.getElementById("tree");
  const tbody = table.querySelector("tbody");
  const actions = table.dataset.actions === "on";
  const rows = new Map([...tbody.children].map((tr) => [tr.dataset.place, tr]));
  const wanted = [];
  for (const node of places(state)) {
    let tr = rows.get(node.place);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.place = node.place;
      tr.append(...treeCells(node));
      if (actions) tr.appendChild(killButton(node.place));
    } else {
      const cells = treeCells(node);
      cells.forEach((cell, i) => tr.children[i].replaceWith(cell));
    }
    tr.dataset.pid = node.pid || "";
    tr.dataset.state = node.state;
    wanted.push(tr);
  }
  tbody.replaceChildren(...wanted);
  const healthy = document.getElementById("healthy");
  healthy.textContent = state.healthy ? "healthy" : "not healthy";
  healthy.className = "badge " + (state.healthy ? "ok" : "bad");
  document.getElementById("remedies").replaceChildren(...(state.remedies || []).map((r) => text("li", r)));
  drawHistory(state.history || []);
  drawDatabase(state.database || []);
  drawCluster(state.cluster);
}

// ---- the database's servers ------------------------------------------------------------------

function databaseRow(server) {
  const tr = document.createElement("tr");
  const standby = server.role === "standby";
  const sync = server.sync === null ? "?" : server.sync ? "yes" : "no";
  const said = server.patroni;
  tr.dataset.server = server.server;
  tr.dataset.role = server.role;
  tr.dataset.sync = standby ? sync : "";
  tr.append(
    text("td", server.server, "place"),
    text("td", server.role, "state " + (server.role === "unreachable" ? "fatal" : "running")),
    text("td", standby ? sync : null),
    text("td", standby && server.lag_bytes !== null ? `${server.lag_bytes} B` : null),
    text("td", server.timeline),
    text("td", said ? `${said.name} ${said.role} ${said.state}` : null),
  );
  return tr;
}

function drawDatabase(servers) {
  document.querySelector("#database tbody").replaceChildren(...servers.map(databaseRow));
}

function drawHistory(history) {
  const rows = history.map((back) => {
    const tr = document.createElement("tr");
    tr.dataset.place = back.place;
    tr.dataset.old = back.old_pid ?? "";
    tr.dataset.new = back.new_pid;
    tr.dataset.exact = back.exact ? "yes" : "no";
    const down = back.exact ? `${back.down_ms} ms` : `within ${back.down_ms} ms (seen by the reads)`;
    tr.append(
      text("td", back.place, "place"),
      text("td", back.old_pid),
      text("td", back.new_pid),
      text("td", clock(back.down_at)),
      text("td", clock(back.back_at)),
      text("td", down, "down"),
    );
    return tr;
  });
  document.querySelector("#history tbody").replaceChildren(...rows);
}

// ---- the cluster -----------------------------------------------------------------------------

// 0 1 2 3 5 7 8 -> "0-3 5 7-8"
function ranges(numbers) {
  const parts = [];
  for (const n of [...numbers].sort((a, b) => a - b)) {
    const last = parts[parts.length - 1];
    if (last && n === last[1] + 1) last[1] = n;
    else parts.push([n, n]);
  }
  return parts.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(" ");
}

function owned(cluster, node) {
  const found = [];
  for (const [branch, owners] of Object.entries(cluster.partitions)) {
    const mine = owners.filter((o) => o.node === node && o.lease_left > 0).map((o) => o.partition);
    if (mine.length) found.push(`${branch} ${ranges(mine)}`);
  }
  return found.join("; ") || "none";
}

function nodeRow(cluster, node) {
  const tr = document.createElement("tr");
  const state = node.draining ? "draining" : node.live ? "live" : "dead";
  const here = node.node === cluster.node;
  tr.dataset.node = node.node;
  tr.dataset.state = state;
  tr.dataset.owns = node.owns;
  tr.dataset.this = here ? "yes" : "no";
  tr.append(
    text("td", node.node, "place"),
    text("td", state, "state " + state),
    text("td", `${node.seen_ago.toFixed(1)} s ago`),
    text("td", `${node.owns}: ${owned(cluster, node.node)}`),
    text("td", here ? "this node (its kill buttons above)" : ""),
  );
  return tr;
}

function clusterNotes(cluster) {
  const relay = cluster.relay;
  const listeners = Object.entries(cluster.listeners).map(([name, node]) => `${name} on ${node}`);
  return [
    relay ? `relay: ${relay.node} (pid ${relay.pid}, epoch ${relay.epoch})` : "relay: none has run yet",
    `listeners: ${listeners.join(", ") || "none running"}`,
    `moving now (no owner under a running lease): ${cluster.moving.join(", ") || "none"}`,
    `moves in the last minute: ${cluster.moves.length}`,
  ];
}

function drawCluster(cluster) {
  const error = document.getElementById("cluster-error");
  const badge = document.getElementById("cluster-state");
  const late = cluster.read_ago !== null && cluster.read_ago > 2;
  error.textContent = cluster.error
    ? `PostgreSQL does not answer: ${cluster.error}` + (late ? ` (last read ${cluster.read_ago} s ago)` : "")
    : late
      ? `as read ${cluster.read_ago} s ago: PostgreSQL is slow to answer`
      : "";
  if (cluster.error) {
    badge.textContent = "unknown";
    badge.className = "badge bad";
    return;
  }
  const live = cluster.nodes.filter((n) => n.live && !n.draining).length;
  badge.textContent = `${live} of ${cluster.nodes.length} nodes live`;
  badge.className = "badge " + (live ? "ok" : "bad");
  document.querySelector("#cluster tbody").replaceChildren(...cluster.nodes.map((n) => nodeRow(cluster, n)));
  document.getElementById("cluster-notes").replaceChildren(...clusterNotes(cluster).map((line) => text("li", line)));
}

async function kill(place) {
  const token = document.getElementById("token").value;
  const result = document.getElementById("kill-result");
  try {
    const answer = await fetch("/api/kill/" + place, {
      method: "POST",
      headers: { Authorization: "Bearer " + token },
    });
    const reply = await answer.json();
    result.textContent = answer.ok ? `killed ${reply.place} (pid ${reply.pid})` : `${reply.code}: ${reply.detail}`;
  } catch (error) {
    result.textContent = `killed ${place}: the answer was cut (${error.message})`;
  }
}

function setUpTree() {
  const form = document.getElementById("actions");
  if (form) form.addEventListener("submit", (submit) => submit.preventDefault());
  const table = document.getElementById("tree");
  table.addEventListener("click", (click) => {
    const button = click.target.closest("button.kill");
    if (button) kill(button.dataset.place);
  });
}

// ---- a séance --------------------------------------------------------------------------------

function drawSeance(state) {
  const seance = state.seance;
  const owner = state.owner;
  document.getElementById("owner").textContent = owner
    ? `owner: ${owner.shard ?? "?"} (pid ${owner.pid || "?"}) on node ${owner.node ?? "?"}, partition ${owner.partition} epoch ${owner.epoch ?? "?"}`
    : "";
  if (!seance) {
    document.getElementById("titre").textContent = "(no such séance yet)";
    return;
  }
  document.getElementById("titre").textContent = seance.titre + (seance.annulee ? " (annulée)" : "");
  document.getElementById("places").textContent =
    `${seance.inscrits.length} / ${seance.places} places taken, ${seance.places_restantes} left; ` +
    `attente ${seance.attente.length} / ${seance.attente_max}`;
  document.getElementById("inscrits").replaceChildren(...seance.inscrits.map((m) => text("li", "membre " + m)));
  document.getElementById("attente").replaceChildren(...seance.attente.map((m) => text("li", "membre " + m)));
}

// ---- events ----------------------------------------------------------------------------------

function eventRow(event) {
  const tr = document.createElement("tr");
  tr.dataset.seq = event.seq;
  tr.append(
    text("td", event.seq),
    text("td", new Date(event.at).toLocaleTimeString()),
    text("td", event.type),
    text("td", event.aggregate),
    text("td", event.payload.membre),
  );
  return tr;
}

function drawPositions(state) {
  document.getElementById("latest").textContent = "latest seq " + state.latest;
  const listeners = Object.entries(state.listeners).map(([name, seq]) => `${name} at ${seq} (lag ${state.latest - seq})`);
  document.getElementById("positions").textContent = listeners.join(", ") || "none";
}

function drawEvents(state) {
  drawPositions(state);
  if (state.events) {
    const tbody = document.querySelector("#events tbody");
    tbody.replaceChildren(...state.events.slice().reverse().map(eventRow));
  }
}

function addEvent(event) {
  const tbody = document.querySelector("#events tbody");
  tbody.prepend(eventRow(event));
  while (tbody.children.length > EVENTS_SHOWN) tbody.lastChild.remove();
}

// ---- loans -----------------------------------------------------------------------------------

function drawPrets(state) {
  const rows = state.livres.map((livre) => {
    const tr = document.createElement("tr");
    tr.dataset.livre = livre.id;
    const out = livre.emprunteur !== null;
    tr.append(
      text("td", livre.id),
      text("td", livre.titre),
      text("td", out ? "membre " + livre.emprunteur : "available"),
      text("td", out ? when(livre.echeance) : null),
      text("td", out ? (livre.en_retard ? "en retard" : "in progress") + (livre.prolonge ? ", prolongé" : "") : null),
      text("td", out ? livre.relances : null),
      text("td", out ? when(livre.prochaine_relance) : null),
    );
    return tr;
  });
  document.querySelector("#livres tbody").replaceChildren(...rows);
}

// ---- the stream ------------------------------------------------------------------------------

const draw = { tree: drawTree, seance: drawSeance, events: drawEvents, prets: drawPrets };
function follow(stream) {
  const source = new EventSource(stream);
  source.onopen = () => setLink("live", "live");
  source.onerror = () => setLink("down", "reconnecting…");
  source.addEventListener("state", (message) => {
    draw[body.dataset.page](JSON.parse(message.data));
    setLink("live", "live");
  });
  source.addEventListener("event", (message) => addEvent(JSON.parse(message.data)));
  source.addEventListener("down", (message) => {
    const problem = JSON.parse(message.data);
    setLink("down", `${problem.code}: ${problem.detail}`);
  });
}

if (body.dataset.page === "tree") setUpTree();
if (body.dataset.stream) follow(body.dataset.stream);
else setLink("", "");

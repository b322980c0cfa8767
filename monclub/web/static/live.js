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

const seen = {}; // place -> {pid, downAt, backAfter}
const killedAt = {}; // place -> time a kill button was pressed

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

function recovery(node) {
  const now = Date.now();
  const before = seen[node.place];
  const running = node.state === "running" && node.pid;
  if (!before) {
    seen[node.place] = { pid: node.pid, downAt: running ? null : now, backAfter: null };
    return seen[node.place];
  }
  if (!running && before.downAt === null) before.downAt = killedAt[node.place] || now;
  if (running && node.pid !== before.pid) {
    const downAt = before.downAt || killedAt[node.place] || now;
    before.backAfter = ((now - downAt) / 1000).toFixed(1) + " s";
    before.downAt = null;
    delete killedAt[node.place];
  }
  before.pid = node.pid;
  return before;
}

function load(node) {
  if (node.loaded === undefined || node.loaded === null) return node.url || null;
  const batches = node.commits ? `, ${node.commits} commits of ${node.batch_mean} on average` : "";
  return `loaded ${node.loaded}, handled ${node.handled}` + batches;
}

function treeCells(node, history) {
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
    text("td", history.backAfter, "back"),
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
      tr.append(...treeCells(node, recovery(node)));
      if (actions) tr.appendChild(killButton(node.place));
    } else {
      const cells = treeCells(node, recovery(node));
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
}

async function kill(place) {
  const token = document.getElementById("token").value;
  const result = document.getElementById("kill-result");
  killedAt[place] = Date.now();
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

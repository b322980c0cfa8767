// MonClub's live pages: open the page's server-sent event stream and put in place each part it
// sends. No framework, no inline script (the CSP forbids it), and nothing drawn here: every page
// is rendered whole by the server, and so is each part of it that the stream sends again.
// EventSource reconnects by itself (the server asks for a retry after 500 ms), so a page stays
// open through a restart of the web program.
"use strict";

const body = document.body;
const link = document.getElementById("link");
const EVENTS_SHOWN = 200;

function setLink(state, words) {
  link.textContent = words;
  link.className = "link " + state;
}

// ---- the tree's kill buttons ---------------------------------------------------------------

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

// ---- server-rendered parts ---------------------------------------------------------------------

// A page's live parts, as the server rendered them (the templates the page itself includes): each
// put in place of the element of the same id, keeping the focus on the control of the same id.
// The templates escape every value; a script in them would not run (the CSP allows none inline).
// Each part is parsed alone in a <template>, where a table's body parses as well as any element.
function elements(html) {
  const parsed = document.createElement("template");
  parsed.innerHTML = html;
  return [...parsed.content.children];
}

function drawParts(state) {
  const focused = document.activeElement && document.activeElement.id;
  for (const html of state.parts) {
    for (const part of elements(html)) {
      const shown = part.id && document.getElementById(part.id);
      if (shown) shown.replaceWith(part);
    }
  }
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

// ---- events ----------------------------------------------------------------------------------

// A new event's row, rendered by the server, on top of the events page (the last EVENTS_SHOWN kept).
function addRow(event) {
  const rows = document.getElementById("events-body");
  rows.prepend(...elements(event.html));
  while (rows.children.length > EVENTS_SHOWN) rows.lastChild.remove();
}

// ---- the stream ------------------------------------------------------------------------------

function follow(stream) {
  const source = new EventSource(stream);
  source.onopen = () => setLink("live", "live");
  source.onerror = () => setLink("down", "reconnecting…");
  source.addEventListener("state", (message) => {
    drawParts(JSON.parse(message.data));
    setLink("live", "live");
  });
  source.addEventListener("event", (message) => addRow(JSON.parse(message.data)));
  source.addEventListener("down", (message) => {
    const problem = JSON.parse(message.data);
    setLink("down", `${problem.code}: ${problem.detail}`);
  });
}

if (body.dataset.page === "tree") setUpTree();
if (body.dataset.stream) follow(body.dataset.stream);
else setLink("", "");

// The live queue: the server sends a metadata snapshot whenever the queue changes.
import { shortTime } from "./chatlink.js";

const table = document.getElementById("queue");
const rows = document.getElementById("queue-rows");
const empty = document.getElementById("queue-empty");
const statusEl = document.getElementById("queue-status");
const csrf = document.querySelector("#claim-form-template input[name=csrfmiddlewaretoken]").value;
const STATE_LABELS = { bot: "With the bot", waiting: "Waiting for an agent", agent: "With an agent", resolved: "Resolved" };
let attempt = 0;

function timeCell(iso, { waiting = false } = {}) {
  const td = document.createElement("td");
  if (iso) {
    const t = document.createElement("time");
    t.dateTime = iso;
    t.textContent = shortTime(new Date(iso));
    if (waiting) t.dataset.waiting = "1";
    td.append(t);
    if (waiting) td.append(" ", waitedLabel(iso));
  }
  return td;
}

function waitedLabel(iso) {
  const span = document.createElement("span");
  span.className = "muted waited";
  span.dataset.since = iso;
  span.textContent = waitedText(iso);
  return span;
}

function waitedText(iso) {
  const minutes = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60000));
  return minutes < 1 ? "(just now)" : `(${minutes} min)`;
}

setInterval(() => {
  for (const span of document.querySelectorAll(".waited")) span.textContent = waitedText(span.dataset.since);
}, 30000);

function row(item) {
  const tr = document.createElement("tr");
  tr.dataset.id = item.id;
  const url = `/console/conversations/${item.id}/`;
  const idCell = document.createElement("td");
  const a = document.createElement("a");
  a.href = url; a.textContent = `#${item.id.slice(0, 8)}`;
  idCell.append(a);
  const stateCell = document.createElement("td");
  const badge = document.createElement("span");
  badge.className = `badge badge-${item.state}`; badge.textContent = STATE_LABELS[item.state];
  stateCell.append(badge);
  const action = document.createElement("td");
  if (item.state === "waiting") {
    const f = document.createElement("form");
    f.method = "post"; f.action = `${url}claim/`;
    const token = document.createElement("input");
    token.type = "hidden"; token.name = "csrfmiddlewaretoken"; token.value = csrf;
    const b = document.createElement("button");
    b.type = "submit"; b.textContent = "Claim";
    f.append(token, b);
    action.append(f);
  } else {
    const open = document.createElement("a");
    open.href = url; open.textContent = "Open";
    action.append(open);
  }
  tr.append(idCell, stateCell, timeCell(item.waiting_since, { waiting: true }), timeCell(item.last_message_at), action);
  return tr;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(scheme + location.host + table.dataset.socket);
  ws.addEventListener("open", () => { attempt = 0; statusEl.textContent = "Live updates: on"; });
  ws.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type !== "queue") return;
    rows.replaceChildren(...frame.conversations.map(row));
    empty.hidden = frame.conversations.length > 0;
  });
  ws.addEventListener("close", (event) => {
    if (event.code === 4403) { statusEl.textContent = "Live updates: signed out. Reload the page."; return; }
    statusEl.textContent = "Live updates: reconnecting…";
    setTimeout(connect, Math.min(30000, 500 * 2 ** attempt++));
  });
}
connect();

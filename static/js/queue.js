// The live queue: the server sends a metadata snapshot whenever the queue changes. Each row is a
// copy of the page's own row for that state (console/queue_row.html, in a <template>), so live
// rows and the rows that came with the page are drawn the same way.
import { Socket } from "./socket.js";
import { showLocalTime, showLocalTimes } from "./time.js";

const table = document.getElementById("queue");
const rows = document.getElementById("queue-rows");
const empty = document.getElementById("queue-empty");
const statusEl = document.getElementById("queue-status");
const placeholder = table.dataset.placeholder;
const templates = new Map([...document.querySelectorAll("template.queue-row")].map((t) => [t.dataset.state, t]));

function waitedText(iso) {
  const minutes = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60000));
  return minutes < 1 ? "(just now)" : `(${minutes} min)`;
}

function showWaited(root = document) {
  for (const span of root.querySelectorAll(".waited")) span.textContent = waitedText(span.dataset.since);
}

function row(item) {
  const template = templates.get(item.state);
  if (!template) return null;
  const tr = template.content.firstElementChild.cloneNode(true);
  tr.dataset.id = item.id;
  for (const name of ["href", "action"]) {
    for (const el of tr.querySelectorAll(`[${name}]`)) el.setAttribute(name, el.getAttribute(name).replace(placeholder, item.id));
  }
  const link = tr.querySelector("a");
  link.textContent = link.textContent.replace(placeholder.slice(0, 8), item.id.slice(0, 8));
  for (const cell of tr.querySelectorAll("[data-field]")) {
    const iso = item[cell.dataset.field];
    if (!iso) { cell.replaceChildren(); continue; }
    for (const time of cell.querySelectorAll("time")) { time.dateTime = iso; showLocalTime(time); }
    for (const span of cell.querySelectorAll(".waited")) span.dataset.since = iso;
  }
  showWaited(tr);
  return tr;
}

new Socket(table.dataset.socket, {
  onFrame(frame) {
    if (frame.type !== "queue" || !Array.isArray(frame.conversations)) return;
    rows.replaceChildren(...frame.conversations.map(row).filter(Boolean));
    empty.hidden = rows.children.length > 0;
  },
  onState(state) {
    if (state === "open") statusEl.textContent = "Live updates: on";
    if (state === "closed") statusEl.textContent = "Live updates: reconnecting…";
    if (state === "denied") statusEl.textContent = "Live updates: signed out. Reload the page.";
  },
});
showLocalTimes(rows);
showWaited(rows);
setInterval(() => showWaited(rows), 30000);

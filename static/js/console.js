import { ChatLink, messageElement, sendTypingOnInput, submitOnEnter, typingIndicator } from "./chatlink.js";
import { cannedPicker } from "./canned.js";
import { showLocalTime, showLocalTimes } from "./time.js";

const root = document.getElementById("console");
const log = document.getElementById("log");
const form = document.getElementById("composer");
const input = document.getElementById("body");
const typing = document.getElementById("typing");
const errorEl = document.getElementById("chat-error");
const badge = document.getElementById("state-badge");
const notes = document.getElementById("notes");
const noteForm = document.getElementById("note-form");
const noteInput = document.getElementById("note-body");
const ended = document.getElementById("ended");
const STATE_LABELS = { bot: "With the bot", waiting: "Waiting for an agent", agent: "With an agent", resolved: "Resolved" };
const showTyping = typingIndicator(typing);

function showError(text) { errorEl.textContent = text; errorEl.hidden = !text; }

// Why the conversation ended under the agent (an `ended` frame): it was deleted.
const ENDED_TEXT = {
  deleted_by_customer: "The customer deleted this conversation.",
  deleted_by_request: "This conversation was deleted at the customer's request (a data deletion request).",
  retention: "This conversation was deleted: its retention period ended.",
};

// Nothing more can be done here: the composer closes, every control is disabled, the notice says why.
function showEnded(reason) {
  ended.querySelector("[data-reason]").textContent = ENDED_TEXT[reason] || "This conversation was deleted.";
  ended.hidden = false;
  form.hidden = true;
  typing.hidden = true;
  showError("");
  for (const el of root.querySelectorAll("textarea, input, select, button")) el.disabled = true;
  badge.textContent = "Deleted";
  badge.className = "badge badge-deleted";
  ended.focus();
}

const KIND_LABELS = {
  card: "card number", card_expiry: "card expiry date", card_cvv: "card security code",
  iban: "IBAN", ssn: "Social Security number", national_id: "national ID number",
  phone: "phone number", email: "e-mail address", password: "password", pin: "PIN",
  otp: "one-time code", api_key: "API key",
};

function noteMasked(kinds) {
  const labels = [...kinds].sort().map((k) => KIND_LABELS[k] || k);
  const what = labels.length === 1 ? labels[0] : `${labels.slice(0, -1).join(", ")} and ${labels.at(-1)}`;
  return `${what[0].toUpperCase()}${what.slice(1)} removed before storing.`;
}

function addNote(frame) {
  if (notes.querySelector(`[data-note-id="${frame.id}"]`)) return;
  const li = document.createElement("li");
  li.className = "note";
  li.dataset.noteId = frame.id;
  const meta = document.createElement("span");
  meta.className = "msg-meta";
  const time = document.createElement("time");
  time.dateTime = frame.at;
  time.dataset.local = "";
  showLocalTime(time);
  meta.append(`${frame.author} · `, time);
  const body = document.createElement("span");
  body.className = "msg-body";
  body.textContent = frame.body;
  li.append(meta, body);
  if (frame.masked.length) {  // as the server draws it (conversations.masking.masked_note)
    const masked = document.createElement("span");
    masked.className = "msg-masked";
    masked.textContent = noteMasked(frame.masked);
    li.append(masked);
  }
  notes.append(li);
}

const link = new ChatLink(root.dataset.socket, {
  lastSeq: Number(root.dataset.lastSeq || 0),
  onFrame(frame) {
    switch (frame.type) {
      case "message": {
        const li = messageElement(frame);
        log.append(li);
        li.scrollIntoView({ block: "nearest" });
        if (frame.sender === "customer") typing.hidden = true;
        break;
      }
      case "note": addNote(frame); break;
      case "status":
        badge.textContent = STATE_LABELS[frame.state] || frame.state;
        badge.className = `badge badge-${frame.state}`;
        if (frame.state !== "agent") form.hidden = true;
        if (frame.state !== "waiting") document.querySelector("#claim-form")?.remove();
        break;
      case "typing": showTyping(); break;
      case "error": showError(frame.detail); break;
      case "ended": showEnded(frame.reason); break;
    }
  },
  onConnection(state) {
    if (state === "open") { showError(""); root.dataset.connected = "1"; } else delete root.dataset.connected;
    if (state === "closed") showError("Connection lost. Reconnecting…");
    if (state === "denied") showError("You no longer have access to this conversation.");
  },
});

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const body = input.value.trim();
  if (!body) return;
  link.post("message", body);
  input.value = "";
  input.focus();
});
const canned = document.getElementById("canned");
if (canned) {  // before submitOnEnter: Enter in the open list inserts a reply, it does not send
  cannedPicker({
    input,
    search: document.getElementById("canned-search"),
    list: document.getElementById("canned-list"),
    status: document.getElementById("canned-status"),
    replies: JSON.parse(document.getElementById("canned-replies").textContent),
    fillUrl: canned.dataset.fillUrl,
  });
}
submitOnEnter(input, form);
sendTypingOnInput(input, link);
noteForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const body = noteInput.value.trim();
  if (!body) return;
  link.post("note", body);
  noteInput.value = "";
});
showLocalTimes(root);
log.lastElementChild?.scrollIntoView({ block: "nearest" });

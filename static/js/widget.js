import { ChatLink, messageElement, sendTypingOnInput, submitOnEnter, typingIndicator } from "./chatlink.js";
import { secretWarning } from "./secretwarning.js";
import { showLocalTime } from "./time.js";

const root = document.getElementById("chat");
const log = document.getElementById("log");
const form = document.getElementById("composer");
const input = document.getElementById("body");
const stateEl = document.getElementById("chat-state");
const handoff = document.getElementById("handoff");
const typing = document.getElementById("typing");
const errorEl = document.getElementById("chat-error");
const who = document.getElementById("disclosure-who");
const counter = document.getElementById("counter");
const MAX = Number(root.dataset.maxBody);
const pendingTemplate = document.getElementById("pending-message");
const STATES = {
  bot: "Automated assistant",
  waiting: "Waiting for an agent…",
  agent: "You're chatting with an agent",
  resolved: "Resolved. Write again to reopen",
};
const showTyping = typingIndicator(typing);

function showError(text) { errorEl.textContent = text; errorEl.hidden = !text; }

// The customer's own message until the server has it: the server's message markup (a <template>
// in the page), with the text put in as text.
function pendingItem(clientId, body) {
  const li = pendingTemplate.content.firstElementChild.cloneNode(true);
  li.querySelector(".msg-body").textContent = body;
  const time = li.querySelector("time");
  time.dateTime = new Date().toISOString();
  showLocalTime(time);
  li.classList.add("msg-pending");
  li.querySelector(".msg-meta").append(" · Sending…");
  li.dataset.clientId = clientId;
  return li;
}

function place(frame) {
  const existing = frame.client_id && log.querySelector(`[data-client-id="${frame.client_id}"]`);
  const li = messageElement(frame);
  if (existing) existing.replaceWith(li); else log.append(li);
  li.scrollIntoView({ block: "end" });
  if (frame.sender === "agent") typing.hidden = true;
}

const link = new ChatLink(root.dataset.socket, {
  onFrame(frame) {
    switch (frame.type) {
      case "message": place(frame); break;
      case "status":
        stateEl.textContent = STATES[frame.state] || frame.state;
        // Once a person is on the way (or here), the button has nothing left to do.
        if (frame.state === "waiting" || frame.state === "agent") {
          if (document.activeElement === handoff) input.focus();
          handoff.hidden = true;
        } else handoff.hidden = false;
        who.textContent = frame.state === "agent"
          ? "You are chatting with a member of our team."
          : "You are chatting with an automated assistant.";
        break;
      case "typing": showTyping(); break;
      case "error": showError(frame.detail); break;
    }
  },
  onConnection(state) {
    if (state === "open") { showError(""); root.dataset.connected = "1"; } else delete root.dataset.connected;
    if (state === "closed") stateEl.textContent = "Reconnecting…";
    if (state === "denied") showError("This chat session has ended. Reload the page to start again.");
  },
});

// `masked`: the kinds the customer chose to mask here, so the server can say what was removed
// (it masks the text again regardless).
function send(body, masked = []) {
  showError("");
  const clientId = link.post("message", body, masked.length ? { masked } : {});
  log.append(pendingItem(clientId, body));
  log.lastElementChild.scrollIntoView({ block: "end" });
  input.value = "";
  input.focus();
}
const mayBeSent = secretWarning(document.getElementById("secret-warning"), {
  input,
  policy: JSON.parse(document.getElementById("redaction-policy").textContent),
  send,
});

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const body = input.value.trim();
  if (!body) return;
  if (body.length > MAX) { showError(`Messages are limited to ${MAX} characters; this one has ${body.length}.`); return; }
  if (mayBeSent(body, input.value.length - input.value.trimStart().length)) send(body);
});
submitOnEnter(input, form);
sendTypingOnInput(input, link);
// Past 90% of the limit, say how much is left (or how much too long it is) instead of cutting.
input.addEventListener("input", () => {
  const n = input.value.length;
  counter.hidden = n < MAX * 0.9;
  counter.textContent = n > MAX ? `${n - MAX} characters over the ${MAX} limit` : `${MAX - n} characters left`;
  counter.classList.toggle("over", n > MAX);
});
handoff.addEventListener("click", () => link.raw({ type: "handoff" }));
// Inside the embed's panel, Escape closes the panel (the embedding page listens for this).
if (window.parent !== window) {
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") window.parent.postMessage({ confidant: "close" }, "*");
  });
}

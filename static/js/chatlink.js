// A chat socket that survives reconnects: it resumes after the last contiguous seq it has,
// resends unacknowledged messages with their original client_id (the server stores them once),
// and hands each server frame to the page exactly once and in seq order.
export function newClientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UNAUTHORIZED = 4403;

export class ChatLink {
  constructor(path, { lastSeq = 0, onFrame, onConnection }) {
    this.path = path;
    this.lastSeq = lastSeq;          // highest seq with no gap before it
    this.early = new Map();          // seq -> frame that arrived ahead of a gap
    this.pending = new Map();        // client_id -> frame not yet acknowledged
    this.onFrame = onFrame;
    this.onConnection = onConnection || (() => {});
    this.attempt = 0;
    this.closedForGood = false;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + this.path);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempt = 0;
      this.onConnection("open");
      this.raw({ type: "resume", after_seq: this.lastSeq });
      for (const frame of this.pending.values()) this.raw(frame);
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      this.accept(frame);
    });
    ws.addEventListener("close", (event) => {
      if (event.code === UNAUTHORIZED) { this.closedForGood = true; this.onConnection("denied"); return; }
      this.onConnection("closed");
      const delay = Math.min(30000, 500 * 2 ** this.attempt++) * (0.75 + Math.random() / 2);
      setTimeout(() => this.connect(), delay);
    });
  }

  accept(frame) {
    if (frame.type === "ack") { this.pending.delete(frame.client_id); this.onFrame(frame); return; }
    if (frame.type === "error" && frame.code === "rate_limited") {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => { for (const f of this.pending.values()) this.raw(f); }, 5000);
    }
    if (frame.type !== "message") { this.onFrame(frame); return; }
    if (frame.seq <= this.lastSeq) return;             // already shown
    if (frame.client_id) this.pending.delete(frame.client_id);
    if (frame.seq > this.lastSeq + 1) {                // a gap: hold it, ask again for what's missing
      this.early.set(frame.seq, frame);
      this.raw({ type: "resume", after_seq: this.lastSeq });
      return;
    }
    this.onFrame(frame);
    this.lastSeq = frame.seq;
    while (this.early.has(this.lastSeq + 1)) {
      const next = this.early.get(this.lastSeq + 1);
      this.early.delete(next.seq);
      this.onFrame(next);
      this.lastSeq = next.seq;
    }
  }

  raw(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  // Send a message-like frame (message, note); returns its client_id.
  post(type, body) {
    const frame = { type, client_id: newClientId(), body };
    this.pending.set(frame.client_id, frame);
    this.raw(frame);
    return frame.client_id;
  }
}

const LINK = /(https?:\/\/[^\s]+|\/privacy\/)/g;

// Render a message body as text; in bot and system messages, links become anchors.
export function renderBody(el, body, linkify) {
  el.textContent = "";
  if (!linkify) { el.textContent = body; return; }
  let last = 0;
  for (const m of body.matchAll(LINK)) {
    el.append(body.slice(last, m.index));
    const a = document.createElement("a");
    a.href = m[0]; a.textContent = m[0] === "/privacy/" ? "our privacy notice" : m[0];
    a.target = "_blank"; a.rel = "noopener";
    el.append(a);
    last = m.index + m[0].length;
  }
  el.append(body.slice(last));
}

export function shortTime(date) {
  // The same shape as the server-rendered times ("23 Nov, 10:27").
  return date.toLocaleString("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

const SENDER_LABEL = { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" };

export function messageItem(frame, labels = SENDER_LABEL) {
  const li = document.createElement("li");
  li.className = `msg msg-${frame.sender}`;
  li.dataset.seq = frame.seq;
  const meta = document.createElement("span");
  meta.className = "msg-meta";
  const at = new Date(frame.at);
  const time = document.createElement("time");
  time.dateTime = frame.at;
  time.textContent = shortTime(at);
  meta.append(`${labels[frame.sender] || frame.sender} · `, time);
  const body = document.createElement("span");
  body.className = "msg-body";
  renderBody(body, frame.body, frame.sender === "bot" || frame.sender === "system");
  li.append(meta, body);
  return li;
}

// Show a typing indicator element for a few seconds after each typing frame; returns show().
export function typingIndicator(el) {
  let timer;
  return () => {
    el.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(() => { el.hidden = true; }, 4000);
  };
}

// Tell the other side we're typing, at most every 2 seconds.
export function sendTypingOnInput(input, link) {
  let last = 0;
  input.addEventListener("input", () => {
    const now = Date.now();
    if (now - last > 2000) { last = now; link.raw({ type: "typing" }); }
  });
}

// Send Enter to submit, Shift+Enter for a new line.
export function submitOnEnter(textarea, form) {
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
}

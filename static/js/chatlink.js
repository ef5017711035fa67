// A chat socket that survives reconnects: it resumes after the last contiguous seq it has,
// resends unacknowledged messages with their original client_id (the server stores them once),
// and hands each server frame to the page exactly once and in seq order. A resume is answered a
// page at a time: after a `resumed` frame with `more`, it asks for the next page; after a
// `rate_limited` or `busy` error, it waits the frame's retry_after and sends its resume and pending frames again.
import { Socket } from "./socket.js";
import { showLocalTimes } from "./time.js";

const GAP_WAIT_MS = 300;

export function newClientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class ChatLink {
  constructor(path, { lastSeq = 0, onFrame, onConnection }) {
    this.lastSeq = lastSeq;          // highest seq with no gap before it
    this.early = new Map();          // seq -> frame that arrived ahead of a gap
    this.pending = new Map();        // client_id -> frame not yet acknowledged
    this.onFrame = onFrame;
    this.socket = new Socket(path, {
      onOpen: () => {
        this.raw({ type: "resume", after_seq: this.lastSeq });
        for (const frame of this.pending.values()) this.raw(frame);
      },
      onFrame: (frame) => this.accept(frame),
      onState: onConnection || (() => {}),
    });
  }

  accept(frame) {
    if (frame.type === "ack") { this.pending.delete(frame.client_id); this.onFrame(frame); return; }
    if (frame.type === "resumed") {
      if (frame.more) this.raw({ type: "resume", after_seq: this.lastSeq });
      return;
    }
    if (frame.type === "error" && (frame.code === "rate_limited" || frame.code === "busy")) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        this.raw({ type: "resume", after_seq: this.lastSeq });
        for (const f of this.pending.values()) this.raw(f);
      }, 1000 * (frame.retry_after || 5));
    }
    if (frame.type !== "message") { this.onFrame(frame); return; }
    if (frame.seq <= this.lastSeq) return;             // already shown
    if (frame.client_id) this.pending.delete(frame.client_id);
    if (frame.seq > this.lastSeq + 1) {                // a gap: hold it, ask again for what's missing
      this.early.set(frame.seq, frame);
      // Messages stored at the same moment by different senders may be broadcast in either order:
      // give the missing one a moment to arrive before asking for it.
      if (!this.gapTimer) {
        this.gapTimer = setTimeout(() => {
          this.gapTimer = null;
          if (this.early.size) this.raw({ type: "resume", after_seq: this.lastSeq });
        }, GAP_WAIT_MS);
      }
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
    if (!this.early.size) { clearTimeout(this.gapTimer); this.gapTimer = null; }
  }

  raw(frame) {
    this.socket.send(frame);
  }

  // Send a message-like frame (message, note), with any `extra` fields; returns its client_id.
  post(type, body, extra = {}) {
    const frame = { ...extra, type, client_id: newClientId(), body };
    this.pending.set(frame.client_id, frame);
    this.raw(frame);
    return frame.client_id;
  }
}

// A message frame as the page shows it. The server draws every message with its one template
// (conversations/rendering.py) and sends that HTML in the frame: the text in it is escaped there,
// so it is parsed here as markup from our own server, never built from the frame's text.
export function messageElement(frame) {
  const template = document.createElement("template");
  template.innerHTML = frame.html;
  const li = template.content.firstElementChild;
  showLocalTimes(li);
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

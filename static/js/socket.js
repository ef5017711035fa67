// The one reconnecting WebSocket of the widget, the console and the queue. It reconnects with
// exponential backoff and jitter (so a restarted server is not met by every browser at once),
// ignores frames that are not JSON objects with a type, calls onOpen after every (re)connect so
// the page can resume where it was, and stops for good on the server's "not allowed" (4403) and
// on "this conversation was deleted" (4410, after an `ended` frame);
// after a limit's close (4400 too many invalid frames, 4429 too many sockets) waits the
// longest backoff, since its open had reset the count of attempts.
// Every other close reconnects: 4503 (the server's channel layer failed), 1006, 1001, 1011.
const UNAUTHORIZED = 4403;
const ENDED = 4410;
const LIMITED = [4400, 4429];

export function backoff(attempt) {
  return Math.min(30000, 500 * 2 ** attempt) * (0.75 + Math.random() / 2);
}

export function parseFrame(data) {
  try {
    const frame = JSON.parse(data);
    return frame && typeof frame === "object" && typeof frame.type === "string" ? frame : null;
  } catch {
    return null;
  }
}

export class Socket {
  // onOpen(): after every (re)connect, before onState("open"): send resume frames here.
  // onFrame(frame): each server frame. onState("open" | "closed" | "denied" | "ended").
  constructor(path, { onOpen = () => {}, onFrame, onState = () => {} }) {
    this.path = path;
    this.onOpen = onOpen;
    this.onFrame = onFrame;
    this.onState = onState;
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
      this.onOpen();
      this.onState("open");
    });
    ws.addEventListener("message", (event) => {
      const frame = parseFrame(event.data);
      if (frame) this.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (event.code === UNAUTHORIZED || event.code === ENDED) {
        this.closedForGood = true;
        this.onState(event.code === ENDED ? "ended" : "denied");
        return;
      }
      this.onState("closed");
      const wait = LIMITED.includes(event.code) ? backoff(6) : backoff(this.attempt++);
      setTimeout(() => this.connect(), wait);
    });
  }

  // Send a frame if the socket is open; false if it is not (callers that must deliver keep it).
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }
}

// The warning before a message with a card number, an IBAN, an SSN, an e-mail address or a
// password is sent: a modal dialog (templates/chat/widget.html) that says what was found and
// offers "Edit" (back to the text, the first finding selected) or "Send masked". Escape is Edit;
// Tab stays inside; focus goes back to the text when it closes. The server masks regardless.
import { findSecrets, maskSecrets } from "./redaction.js";

// "a card number", "a card number and an IBAN", "a card number, an IBAN and a password"
function listed(labels) {
  return labels.length < 2 ? labels.join("") : `${labels.slice(0, -1).join(", ")} and ${labels.at(-1)}`;
}

const PREVIEW_CHARS = 280;

// Returns check(body, offset): true if `body` may be sent as it is; otherwise it opens the
// warning and returns false. `offset` is where `body` starts in the textarea (it is trimmed).
// `send(text, kinds)` sends a message.
export function secretWarning(dialog, { input, policy, send }) {
  const options = { kinds: policy.kinds, keepDomains: policy.keep_domains };
  const found = dialog.querySelector("#secret-warning-found");
  const preview = dialog.querySelector("#secret-warning-preview");
  const edit = dialog.querySelector("#secret-edit");
  const sendMasked = dialog.querySelector("#secret-send-masked");
  let held = null; // {body, offset, findings} while the dialog is open

  function close() {
    held = null;
    if (dialog.open) dialog.close();
  }

  edit.addEventListener("click", () => {
    const { offset, findings } = held;
    close();
    input.focus();
    input.setSelectionRange(offset + findings[0].start, offset + findings[0].end);
  });
  sendMasked.addEventListener("click", () => {
    const masked = maskSecrets(held.body, options);
    close();
    send(masked.text, masked.kinds);
  });
  dialog.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      // Handled here, so that Escape neither closes the dialog by itself nor reaches the page's
      // own Escape (inside the embed, that closes the chat panel).
      e.preventDefault();
      e.stopPropagation();
      edit.click();
    } else if (e.key === "Tab") {
      const buttons = [edit, sendMasked];
      const next = buttons[(buttons.indexOf(document.activeElement) + (e.shiftKey ? -1 : 1) + 2) % 2];
      e.preventDefault();
      next.focus();
    }
  });
  // A close request without a key (a phone's back gesture) is an Edit too.
  dialog.addEventListener("cancel", (e) => {
    e.preventDefault();
    if (held) edit.click();
  });
  dialog.addEventListener("close", () => {
    held = null;
    input.focus();
  });

  return function check(body, offset) {
    const findings = findSecrets(body, options);
    if (!findings.length) return true;
    held = { body, offset, findings };
    // (with non-breaking hyphens: "e-mail" is not split across lines)
    const labels = [...new Set(findings.map((f) => f.kind))].map((kind) => policy.labels[kind].replaceAll("-", "\u2011"));
    found.textContent = `This message contains ${listed(labels)}.`;
    const masked = maskSecrets(body, options).text;
    preview.textContent = masked.length > PREVIEW_CHARS ? `${masked.slice(0, PREVIEW_CHARS)}…` : masked;
    dialog.showModal();
    // Focus on the safe choice, the dialog read from its top (on a short screen the buttons, kept
    // in view, would otherwise scroll the text away).
    edit.focus({ preventScroll: true });
    dialog.scrollTop = 0;
    return false;
  };
}

// Canned replies in the console's composer: typing "/" at the start of the reply, or typing in the
// search box, opens a list of the replies (the ARIA combobox + listbox pattern: arrow keys move,
// Enter inserts, Escape closes). The server fills the placeholders for this conversation
// (GET data-fill-url, a JSON answer), and the text goes into the reply box to be edited and sent
// like any message, masked by the server as any message is.

const ZERO = "00000000-0000-0000-0000-000000000000";

export function cannedPicker({ input, search, list, status, replies, fillUrl }) {
  let items = [];
  let active = -1;
  let source = null;  // "slash" (the reply box) or "search" (the search box) while the list is open

  const control = () => (source === "slash" ? input : search);

  function say(text, warn = false) {
    status.textContent = text;
    status.classList.toggle("canned-warning", warn);
  }

  function close() {
    for (const el of [input, search]) {
      el.setAttribute("aria-expanded", "false");
      el.removeAttribute("aria-activedescendant");
    }
    list.hidden = true;
    list.replaceChildren();
    items = [];
    active = -1;
    source = null;
  }

  function matches(query) {
    const q = query.trim().toLowerCase();
    if (!q) return replies;
    const starts = replies.filter((r) => r.shortcut.startsWith(q));
    const rest = replies.filter((r) => !starts.includes(r) && `${r.shortcut} ${r.title}`.toLowerCase().includes(q));
    return [...starts, ...rest];
  }

  function highlight(index) {
    active = index;
    [...list.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    const li = list.children[index];
    if (li) {
      control().setAttribute("aria-activedescendant", li.id);
      li.scrollIntoView({ block: "nearest" });
    } else control().removeAttribute("aria-activedescendant");
  }

  function open(from, query) {
    source = from;
    items = matches(query);
    list.replaceChildren(...items.map((reply, i) => {
      const li = document.createElement("li");
      li.id = `canned-option-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      const name = document.createElement("span");
      name.className = "canned-shortcut";
      name.textContent = `/${reply.shortcut}`;
      const scope = document.createElement("span");
      scope.className = "canned-scope muted small";
      scope.textContent = reply.shared ? "Shared" : "Yours";
      li.append(name, ` ${reply.title} `, scope);
      li.addEventListener("mousedown", (e) => e.preventDefault());  // keep the focus where it is
      li.addEventListener("click", () => choose(i));
      return li;
    }));
    const other = from === "slash" ? search : input;
    other.setAttribute("aria-expanded", "false");
    other.removeAttribute("aria-activedescendant");
    list.hidden = items.length === 0;
    control().setAttribute("aria-expanded", String(items.length > 0));
    say(items.length ? `${items.length} canned ${items.length === 1 ? "reply" : "replies"}: arrow keys to choose, Enter to insert.`
      : "No canned reply matches.");
    highlight(items.length ? 0 : -1);
  }

  function insert(text, from) {
    if (from === "slash") {
      input.value = text;
      input.setSelectionRange(text.length, text.length);
    } else {
      const start = input.selectionStart ?? input.value.length;
      const end = input.selectionEnd ?? start;
      input.setRangeText(text, start, end, "end");
      search.value = "";
    }
    input.focus();
    input.dispatchEvent(new Event("canned-inserted"));
  }

  async function choose(index) {
    const reply = items[index];
    const from = source;
    if (!reply) return;
    close();
    let filled;
    try {
      const response = await fetch(fillUrl.replace(ZERO, reply.id), {
        headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store",
      });
      if (!response.ok) throw new Error(String(response.status));
      filled = await response.json();
    } catch {
      say("That reply could not be inserted. Try again, or type your reply.", true);
      return;
    }
    insert(filled.text, from);
    const notes = [];
    if (filled.unknown.length) {
      const names = filled.unknown.map((n) => `{${n}}`).join(", ");
      notes.push(`Check before sending: ${names} ${filled.unknown.length === 1 ? "is not a placeholder" : "are not placeholders"} we fill, left as written.`);
    }
    if (filled.will_mask.length) notes.push(`When sent, the ${filled.will_mask.join(", ")} in it will be masked.`);
    say(notes.length ? notes.join(" ") : `Inserted /${reply.shortcut}: edit it if you like, then send.`, notes.length > 0);
  }

  function onKey(e, from) {
    if (source !== from) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!items.length) return;
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + items.length) % items.length);
    } else if (e.key === "Enter" && !e.isComposing) {
      if (active < 0) return;
      e.preventDefault();
      e.stopImmediatePropagation();  // not a send
      choose(active);
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopImmediatePropagation();
      close();
      say("");
    }
  }

  input.addEventListener("keydown", (e) => onKey(e, "slash"));
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") e.preventDefault();  // never submits the reply form
    if (source !== "search" && (e.key === "ArrowDown" || e.key === "ArrowUp")) open("search", search.value);
    onKey(e, "search");
  });
  input.addEventListener("input", () => {
    const slash = /^\/(\S*)$/.exec(input.value);
    if (slash) open("slash", slash[1]);
    else if (source === "slash") { close(); say(""); }
  });
  search.addEventListener("input", () => open("search", search.value));
  search.addEventListener("focus", () => { if (search.value) open("search", search.value); });
  for (const el of [input, search]) {
    el.addEventListener("blur", () => { setTimeout(() => { if (document.activeElement !== control()) close(); }, 0); });
  }
}

// Put Confidant's chat on a business's own site:
//   <script src="https://chat.example.com/static/js/embed.js" async></script>
// It adds a "Chat with us" button that opens the widget (/chat/ on the Confidant host) in a panel.
// Host Confidant on a subdomain of the site (same-site), and list the site in WIDGET_EMBED_ORIGINS.
(function () {
  const script = document.currentScript;
  if (!script || document.getElementById("confidant-launcher")) return;
  const origin = new URL(script.src).origin;
  const label = script.dataset.label || "Chat with us";

  // A stylesheet from the Confidant host rather than inline styles, so a site's CSP need only
  // allow that host (script-src and style-src), not 'unsafe-inline'.
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = new URL("../css/embed.css", script.src).href;
  document.head.append(css);

  const button = document.createElement("button");
  button.id = "confidant-launcher";
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "confidant-panel");

  const panel = document.createElement("div");
  panel.id = "confidant-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", label);

  function toggle(open) {
    if (open && !panel.firstChild) {
      const frame = document.createElement("iframe");
      frame.src = `${origin}/chat/`;
      frame.title = label;
      frame.allow = "clipboard-write";
      panel.append(frame);
    }
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "Close chat" : label;
    if (open) panel.firstChild.focus(); else button.focus();
  }

  button.addEventListener("click", () => toggle(panel.hidden));
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !panel.hidden) toggle(false); });
  window.addEventListener("message", (e) => {
    if (e.origin === origin && e.data && e.data.confidant === "close" && !panel.hidden) toggle(false);
  });
  document.body.append(panel, button);
})();

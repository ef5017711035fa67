// The incident page's notification deadline, counted down live. The server wrote the same text
// when it rendered the page (what a page without scripts shows); this keeps it current.
const el = document.getElementById("countdown");
const deadline = el ? new Date(el.dataset.deadline) : null;

export function remaining(msLeft) {
  const minutes = Math.floor(Math.abs(msLeft) / 60000);
  const span = `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  return msLeft < 0 ? `overdue by ${span}` : `${span} left`;
}

function tick() {
  const left = deadline.getTime() - Date.now();
  el.textContent = remaining(left);
  el.closest(".countdown")?.classList.toggle("overdue", left < 0);
}

if (el && deadline && !Number.isNaN(deadline.getTime())) {
  tick();
  setInterval(tick, 15000);
}

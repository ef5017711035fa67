// Times in the viewer's time zone, in the one shape the server writes them ("30 Nov, 17:29",
// Django's "j M, H:i"). The server writes its own zone: that is what a page without scripts shows,
// and every <time datetime="…" data-local> is rewritten here, whether it came with the page or
// arrived live, so a row or a message never changes shape.
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n) => String(n).padStart(2, "0");

export function shortTime(date) {
  return `${date.getDate()} ${MONTHS[date.getMonth()]}, ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function showLocalTime(el) {
  const date = new Date(el.dateTime);
  if (el.dateTime && !Number.isNaN(date.getTime())) el.textContent = shortTime(date);
}

export function showLocalTimes(root = document) {
  if (root.matches?.("time[data-local]")) showLocalTime(root);
  for (const el of root.querySelectorAll("time[data-local]")) showLocalTime(el);
}

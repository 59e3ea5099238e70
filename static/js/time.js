// One time-zone rule for every page (docs/board.md): times are shown in the viewer's zone, the rep
// profile's when the server knows it (<body data-zone-source="profile">), else this browser's. The
// server renders pages in that zone already; this script converts every <time datetime> again so
// cards pushed over the websocket (rendered once, for everyone) read the same, tells the server the
// browser's zone (the "tz" cookie) for viewers without a profile, and keeps the live labels true:
// the first-touch countdown, "Overdue by", "Escalated · waiting", and the lead's own time.
(function () {
  "use strict";
  const body = document.body;
  let browserZone = "UTC";
  try { browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { /* keep UTC */ }
  const fromProfile = body.dataset.zoneSource === "profile" && body.dataset.zone;
  const zone = fromProfile ? body.dataset.zone : browserZone;
  if (!fromProfile) {
    const sent = document.cookie.split("; ").find((c) => c.startsWith("tz="));
    if (!sent || decodeURIComponent(sent.slice(3)) !== browserZone) {
      document.cookie = `tz=${encodeURIComponent(browserZone)}; path=/; max-age=31536000; samesite=lax`;
    }
  }
  body.dataset.viewerZone = zone;
  document.querySelectorAll("[data-zone-label]").forEach((el) => {
    el.textContent = `times in ${zone}`;
    el.title = fromProfile ? "Your time zone, from your rep profile" : "This browser's time zone";
  });

  const formats = {
    datetime: { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
    weekday: { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
    time: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
    date: { year: "numeric", month: "short", day: "numeric" },
    full: { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
            hourCycle: "h23", timeZoneName: "short" },
  };
  const formatters = {};
  function format(date, kind, tz) {
    const key = `${kind}|${tz || zone}`;
    if (!formatters[key]) {
      try { formatters[key] = new Intl.DateTimeFormat(undefined, { ...formats[kind], timeZone: tz || zone }); }
      catch (e) { formatters[key] = new Intl.DateTimeFormat(undefined, { ...formats[kind], timeZone: "UTC" }); }
    }
    return formatters[key].format(date);
  }
  // Every <time datetime> names its moment in the viewer's zone (its title); the ones that show a clock
  // time (data-local, data-format "datetime", "weekday", "time", "date") show it there too. Relative
  // ones ("5 min ago") read the same in every zone and keep their text.
  function localise(root) {
    (root || document).querySelectorAll("time[datetime]").forEach((el) => {
      const at = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(at.getTime())) return;
      el.title = format(at, "full");
      if (!el.hasAttribute("data-local")) return;
      el.textContent = format(at, el.dataset.format || "datetime");
      if (el.hasAttribute("data-deadline")) el.classList.toggle("overdue", at.getTime() < Date.now());
    });
    (root || document).querySelectorAll("[data-at]").forEach((el) => {
      const at = new Date(el.dataset.at);
      if (!Number.isNaN(at.getTime())) el.title = `${el.dataset.atLabel || ""} ${format(at, "full")}`.trim();
    });
  }

  // The same words as sdr_desk/board/templatetags/desk_time.py.
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) { const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60); return m ? `${h} h ${m} min` : `${h} h`; }
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    return h ? `${d} d ${h} h` : `${d} d`;
  }
  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s >= 86400) return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
    if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }
  function tick(root, nowMs) {
    const now = nowMs || Date.now();
    (root || document).querySelectorAll("[data-sla]").forEach((el) => {
      if (el.dataset.sla === "escalated") {
        const start = Date.parse(el.dataset.start || "");
        el.textContent = `Escalated · waiting ${duration(Number.isNaN(start) ? 0 : (now - start) / 1000)}`;
        return;
      }
      const due = Date.parse(el.dataset.due || "");
      if (Number.isNaN(due)) return;
      const left = Math.round((due - now) / 1000);
      const over = left < 0;
      el.textContent = over ? `Overdue by ${duration(-left)}` : `${clock(left)} left`;
      el.classList.toggle("sla-over", over);
      el.classList.toggle("sla-due", !over);
    });
    (root || document).querySelectorAll("[data-lead-zone]").forEach((el) => {
      const clockEl = el.querySelector("[data-lead-clock]");
      if (clockEl) clockEl.textContent = format(new Date(now), "time", el.dataset.leadZone);
    });
  }

  window.deskTime = { zone, format, localise, tick, duration, clock };
  localise(document);
  tick(document);
  // Rows HTMX swaps in (the leads list) are localised like the page was.
  body.addEventListener("htmx:afterSwap", (event) => { localise(event.target); tick(event.target); });
  // The board ticks its own cards (board.js); every other page ticks here.
  if (!document.getElementById("board")) setInterval(() => tick(document), 1000);
})();

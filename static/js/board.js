// The live board. Cards are HTML rendered by the server (the same template as the page);
// this script only places them, ticks countdowns, and keeps the socket honest:
// a push is a hint, so after every (re)connect it asks for everything since the last event seen.
(function () {
  "use strict";
  const board = document.getElementById("board");
  if (!board) return;
  let seq = parseInt(board.dataset.seq || "0", 10);
  let socket = null;
  let retry = 0;
  let unseenHot = 0;
  const live = document.getElementById("live");
  const flash = document.getElementById("board-flash");
  const baseTitle = document.title;
  const soundToggle = document.getElementById("sound-toggle");
  const notifyToggle = document.getElementById("notify-toggle");
  soundToggle.checked = localStorage.getItem("board.sound") === "on";
  soundToggle.addEventListener("change", () => localStorage.setItem("board.sound", soundToggle.checked ? "on" : "off"));
  if (!("Notification" in window) || Notification.permission !== "default") notifyToggle.hidden = true;
  notifyToggle.addEventListener("click", () => Notification.requestPermission().then(() => { notifyToggle.hidden = true; }));

  function setLive(state, text) { live.dataset.state = state; live.textContent = text; }
  function cardsOf(section) { return board.querySelector(`[data-cards="${section}"]`); }
  function refreshCounts() {
    board.querySelectorAll("[data-cards]").forEach((list) => {
      const section = list.dataset.cards;
      const n = list.querySelectorAll(".lead-card:not(.leaving)").length;
      const count = board.querySelector(`[data-count="${section}"]`);
      if (count) count.textContent = n;
      const empty = board.querySelector(`[data-empty="${section}"]`);
      if (empty) empty.hidden = n > 0;
    });
    document.title = (unseenHot > 0 ? `(${unseenHot}) ` : "") + baseTitle;
  }
  function dueOf(card) { return card.dataset.due ? Date.parse(card.dataset.due) : Infinity; }
  function place(section, html) {
    const list = cardsOf(section);
    if (!list) return null;
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    const card = template.content.firstElementChild;
    const old = document.getElementById(card.id);
    if (old) old.remove();
    const due = dueOf(card);
    const before = Array.from(list.querySelectorAll(".lead-card")).find((c) => dueOf(c) > due);
    list.insertBefore(card, before || null);
    card.classList.add("arriving");
    setTimeout(() => card.classList.remove("arriving"), 600);
    tick();
    return card;
  }
  function remove(lead, reason) {
    const card = document.getElementById(`card-${lead}`);
    if (!card) return;
    if (reason) {
      const line = document.createElement("div");
      line.className = "lead-card-gone";
      line.textContent = reason;
      card.appendChild(line);
    }
    card.classList.add("leaving");
    setTimeout(() => { card.remove(); refreshCounts(); }, reason ? 2500 : 300);
    refreshCounts();
  }
  function announce(card) {
    unseenHot += document.hidden ? 1 : 0;
    const name = card.querySelector(".lead-card-name")?.textContent || "New hot lead";
    if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
      new Notification("Hot lead", { body: name, tag: card.id });
    }
    if (soundToggle.checked) beep();
  }
  function beep() {
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const osc = ctx.createOscillator();
      osc.frequency.value = 880; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no audio: the notification and the title still tell */ }
  }
  function handle(message) {
    if (typeof message.seq === "number" && message.seq > seq) seq = message.seq;
    if (message.type === "hello") {
      socket.send(JSON.stringify({ type: "since", seq: seq }));
    } else if (message.type === "card") {
      const card = place(message.section, message.html);
      if (card && message.notify) announce(card);
    } else if (message.type === "remove") {
      remove(message.lead, message.reason);
    } else if (message.type === "resync") {
      window.location.reload();
    }
    refreshCounts();
  }
  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}${board.dataset.ws}`);
    setLive("connecting", "connecting…");
    socket.onopen = () => { retry = 0; setLive("live", "live"); };
    socket.onmessage = (event) => handle(JSON.parse(event.data));
    socket.onclose = () => {
      setLive("offline", "reconnecting…");
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * 2 ** retry * (0.5 + Math.random()));
    };
  }

  // Countdowns: amber past the warning point, red past the deadline.
  function tick() {
    const now = Date.now();
    board.querySelectorAll(".lead-card[data-due]").forEach((card) => {
      const due = Date.parse(card.dataset.due);
      const start = Date.parse(card.dataset.start || card.dataset.due);
      const el = card.querySelector("[data-countdown]");
      if (!el) return;
      const left = Math.round((due - now) / 1000);
      const abs = Math.abs(left);
      const text = abs >= 3600 ? `${Math.floor(abs / 3600)}h ${Math.floor((abs % 3600) / 60)}m`
        : `${Math.floor(abs / 60)}:${String(abs % 60).padStart(2, "0")}`;
      el.textContent = left >= 0 ? `${text} left` : `${text} over`;
      const spent = due > start ? (now - start) / (due - start) : 1;
      card.classList.toggle("amber", left >= 0 && spent >= 0.6);
      card.classList.toggle("red", left < 0);
    });
  }
  setInterval(tick, 1000);
  tick();

  // Claim without leaving the board; the push moves the card.
  board.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-claim-form]");
    if (!form) return;
    event.preventDefault();
    const lead = form.closest(".lead-card").dataset.lead;
    const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    fetch(`/api/v1/leads/${lead}/claim/`, { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin" })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => { flash.textContent = ok ? "Claimed: call now." : (body.detail || "Could not claim."); });
  });

  // Keyboard first: j/k move, c claim, o open.
  let focused = null;
  function cards() { return Array.from(board.querySelectorAll(".lead-card:not(.leaving)")); }
  function focusCard(card) {
    if (focused) focused.classList.remove("focused");
    focused = card;
    if (card) { card.classList.add("focused"); card.focus({ preventScroll: false }); }
  }
  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, textarea, select") || event.metaKey || event.ctrlKey || event.altKey) return;
    const list = cards();
    const at = focused ? list.indexOf(focused) : -1;
    if (event.key === "j") focusCard(list[Math.min(at + 1, list.length - 1)] || null);
    else if (event.key === "k") focusCard(list[Math.max(at - 1, 0)] || null);
    else if (event.key === "c" && focused) focused.querySelector("[data-claim]")?.click();
    else if (event.key === "o" && focused) focused.querySelector("[data-open]")?.click();
    else return;
    event.preventDefault();
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) { unseenHot = 0; refreshCounts(); } });
  connect();
})();

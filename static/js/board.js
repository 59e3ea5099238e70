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
  let focused = null;
  const live = document.getElementById("live");
  const flash = document.getElementById("board-flash");
  const baseTitle = document.title;
  const soundToggle = document.getElementById("sound-toggle");
  const notifyToggle = document.getElementById("notify-toggle");
  // The sound setting is the user's, kept by the server (the same in every browser they sign in from).
  if (soundToggle) {
    soundToggle.addEventListener("change", () => {
      const body = new URLSearchParams({ sound: soundToggle.checked ? "on" : "off" });
      fetch(document.getElementById("sound-form").action, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRFToken": board.dataset.csrf, "X-Requested-With": "fetch" },
      }).then((r) => { if (!r.ok) throw new Error(); say(`Sound ${body.get("sound")}.`, "ok"); })
        .catch(() => { soundToggle.checked = !soundToggle.checked; say("Could not save the sound setting.", "error"); });
    });
  }
  if (notifyToggle) {
    if (!("Notification" in window) || Notification.permission !== "default") notifyToggle.hidden = true;
    notifyToggle.addEventListener("click", () => Notification.requestPermission().then(() => { notifyToggle.hidden = true; }));
  }

  function setLive(state, text) { live.dataset.state = state; live.textContent = text; }
  let flashTimer = null;
  function say(text, kind) {
    flash.textContent = text;
    flash.dataset.kind = kind || "info";
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { flash.textContent = ""; }, 6000);
  }
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
  // By SLA deadline (or, in Due today, by when the next step is due); cards with neither sort last.
  function dueOf(card) {
    const at = card.dataset.due || card.dataset.next;
    return at ? Date.parse(at) : Infinity;
  }
  function place(section, html) {
    const list = cardsOf(section);
    if (!list) return null;
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    const card = template.content.firstElementChild;
    const old = document.getElementById(card.id);
    const moved = !old || old.parentElement !== list;
    if (old) old.remove();
    const due = dueOf(card);
    const before = Array.from(list.querySelectorAll(".lead-card")).find((c) => dueOf(c) > due);
    list.insertBefore(card, before || null);
    // Pushed cards are rendered once for everyone: their times become this viewer's here.
    if (window.deskTime) window.deskTime.localise(card);
    // Slide in what is new to this list; an update in place should not twitch.
    if (moved) {
      card.classList.add("arriving");
      setTimeout(() => card.classList.remove("arriving"), 600);
    }
    if (old && old === focused) focusCard(card);  // j/k keep their place across updates
    tick();
    return card;
  }
  function remove(lead, reason) {
    const card = document.getElementById(`card-${lead}`);
    if (!card) return;
    if (reason) {
      const line = document.createElement("div");
      line.className = "lead-card-gone";
      line.textContent = reason;  // text, never markup
      card.appendChild(line);
    }
    card.classList.add("leaving");
    card.querySelectorAll("button, a").forEach((el) => { el.tabIndex = -1; });
    setTimeout(() => { card.remove(); refreshCounts(); }, reason ? 2500 : 300);
    refreshCounts();
  }
  function announce(card) {
    unseenHot += document.hidden ? 1 : 0;
    const name = card.querySelector(".lead-card-name")?.textContent.trim() || "New hot lead";
    if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
      new Notification("Hot lead", { body: name, tag: card.id });
    }
    if (soundToggle && soundToggle.checked) beep();
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
      if (message.notice) say(message.notice, "warn");  // e.g. your claim went back to the team, and why
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

  // Countdowns: amber past the warning point, red past the deadline or escalated. The labels' words
  // ("4:59 left", "Overdue by 3 min", "Escalated · waiting 12 min") are time.js's, shared with the lead page.
  function ago(seconds) {
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return `${Math.floor(seconds / 86400)} d ago`;
  }
  function tick() {
    const now = Date.now();
    if (window.deskTime) window.deskTime.tick(board, now);
    board.querySelectorAll(".lead-card[data-due]").forEach((card) => {
      const due = Date.parse(card.dataset.due);
      const start = Date.parse(card.dataset.start || card.dataset.due);
      const left = Math.round((due - now) / 1000);
      const spent = due > start ? (now - start) / (due - start) : 1;
      card.classList.toggle("amber", left >= 0 && spent >= 0.6);
      card.classList.toggle("red", left < 0 || card.dataset.state === "escalated");
    });
    // Next steps: red once overdue (time.js wrote them in the viewer's zone).
    board.querySelectorAll("time[data-deadline]").forEach((el) => {
      el.classList.toggle("overdue", Date.parse(el.getAttribute("datetime")) < now);
    });
    board.querySelectorAll("[data-ago]").forEach((el) => {
      el.textContent = ago(Math.max(0, Math.round((now - Date.parse(el.getAttribute("datetime"))) / 1000)));
    });
  }
  setInterval(tick, 1000);
  tick();

  // Claim without leaving the board; the push moves the card.
  board.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-claim-form]");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("[data-claim]");
    if (button.disabled) return;
    button.disabled = true;  // one click is one claim
    const lead = form.closest(".lead-card").dataset.lead;
    fetch(`/api/v1/leads/${lead}/claim/`, { method: "POST", headers: { "X-CSRFToken": board.dataset.csrf }, credentials: "same-origin" })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (ok) say("Claimed: call now, the clock is running.", "ok");
        else { say(body.detail || "Could not claim.", "error"); button.disabled = false; }
      })
      .catch(() => { say("Could not reach the desk: try again.", "error"); button.disabled = false; });
  });

  // A call from a card dials (tel:) and then opens the lead with its outcome form, so the call gets logged.
  board.addEventListener("click", (event) => {
    const call = event.target.closest("[data-call]");
    if (!call) return;
    const open = call.closest(".lead-card").querySelector("[data-open]");
    if (open) setTimeout(() => window.location.assign(`${open.href}#call`), 300);
  });

  // Keyboard first: j/k move, c claim, o open.
  function focusCard(card) {
    if (focused) focused.classList.remove("focused");
    focused = card;
    if (card) { card.classList.add("focused"); card.focus({ preventScroll: true }); card.scrollIntoView({ block: "nearest" }); }
  }
  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, textarea, select") || event.metaKey || event.ctrlKey || event.altKey) return;
    // Leaving cards still count for position, so j after a card leaves goes to the one after it.
    const all = Array.from(board.querySelectorAll(".lead-card"));
    const usable = (c) => !c.classList.contains("leaving");
    const at = all.indexOf(focused);
    if (event.key === "j") focusCard(all.slice(at + 1).find(usable) || (at < 0 ? null : focused));
    else if (event.key === "k") focusCard(all.slice(0, Math.max(at, 0)).reverse().find(usable) || all.find(usable) || null);
    else if (event.key === "c" && focused) focused.querySelector("[data-claim]")?.click();
    else if (event.key === "o" && focused) focused.querySelector("[data-open]")?.click();
    else return;
    event.preventDefault();
  });
  // A push is a hint: once a minute, and whenever the tab comes back into view, ask the server what
  // changed since the last event seen. That also renews the socket's groups on the server.
  function resync() {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "since", seq: seq }));
  }
  setInterval(resync, 60000);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { unseenHot = 0; refreshCounts(); resync(); }
  });
  connect();
})();

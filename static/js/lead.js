// The lead page. A click on call, email, SMS or LinkedIn keeps doing what the link does (tel:, mailto:, sms:)
// and also opens the outcome dialog; saving it posts to the same view as the inline form, so the touch
// (and, for the first one, the end of the SLA clock) is recorded once, by the server. Closing it records nothing.
(function () {
  "use strict";
  const dialog = document.getElementById("touch-dialog");
  if (dialog && typeof dialog.showModal === "function") {
    const form = dialog.querySelector("form");
    const outcomes = dialog.querySelector("[data-outcomes]");
    const title = dialog.querySelector("[data-touch-title]");
    const save = dialog.querySelector("[data-touch-save]");
    const names = { email: "email", sms: "SMS", linkedin: "LinkedIn message" };

    function pick(channel) {
      const isCall = channel === "call";
      // A disabled fieldset is not submitted: only calls carry an outcome, as touch_log requires.
      outcomes.disabled = !isCall;
      outcomes.hidden = !isCall;
      outcomes.querySelectorAll("input").forEach((input) => { input.required = isCall; });
      title.textContent = isCall ? "How did the call go?" : `Log the ${names[channel] || channel}`;
      save.textContent = isCall ? "Save call" : `Log ${names[channel] || channel}`;
    }
    function open(channel) {
      form.reset();
      const radio = form.querySelector(`input[name=channel][value="${channel}"]`);
      if (radio) radio.checked = true;
      pick(channel);
      if (!dialog.open) dialog.showModal();
      (channel === "call" ? outcomes.querySelector("input") : form.querySelector("textarea")).focus();
    }

    form.addEventListener("change", (event) => { if (event.target.name === "channel") pick(event.target.value); });
    dialog.querySelector("[data-touch-cancel]").addEventListener("click", () => dialog.close());
    // A click on the backdrop (outside the form) closes it too, like Escape does.
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
    form.addEventListener("submit", () => { save.disabled = true; });  // one click is one touch

    document.querySelectorAll("[data-touch]").forEach((el) => {
      el.hidden = false;
      // No preventDefault: the tel:/mailto:/sms: link still dials or opens the mail app.
      el.addEventListener("click", () => open(el.dataset.touch));
    });
    // With the dialog at hand the inline form is a second way to do the same thing.
    const inline = document.querySelector("[data-touch-inline]");
    if (inline && !inline.open) inline.hidden = true;

    // The board's Call button dials and then lands here with #call.
    if (window.location.hash === "#call") {
      history.replaceState(null, "", window.location.pathname + window.location.search);
      open("call");
    }
  }

  // Times (in the viewer's zone), the first-touch label and the lead's own clock are time.js's.
})();

// The disposition form: show only the chosen code's reasons and, for nurture codes, the re-engage date.
// Without JavaScript every field shows and the server checks the same rules.
document.querySelectorAll("[data-disposition-form]").forEach((form) => {
  const code = form.querySelector("[data-disposition-code]");
  const reason = form.querySelector("[data-disposition-reason]");
  const reengage = form.querySelector("[data-disposition-reengage]");
  function sync() {
    const chosen = code.selectedOptions[0];
    let any = false;
    reason.querySelectorAll("optgroup").forEach((group) => {
      group.hidden = group.dataset.for !== code.value;
      group.disabled = group.hidden;
      any = any || !group.hidden;
    });
    const picked = reason.selectedOptions[0];
    if (picked && picked.parentElement.hidden) reason.value = "";
    reason.closest("label").hidden = !any;
    reason.required = Boolean(chosen && chosen.dataset.reasonRequired === "1" && any);
    reengage.hidden = !(chosen && chosen.dataset.reengage === "1");
    reengage.querySelector("input").required = !reengage.hidden;
  }
  code.addEventListener("change", sync);
  sync();
});

// The disposition form: show only the chosen code's reasons, for nurture codes the re-engage date, and for
// Duplicate the survivor to merge into.
// Without JavaScript every field shows and the server checks the same rules.
document.querySelectorAll("[data-disposition-form]").forEach((form) => {
  const code = form.querySelector("[data-disposition-code]");
  const reason = form.querySelector("[data-disposition-reason]");
  const reengage = form.querySelector("[data-disposition-reengage]");
  const merge = form.querySelector("[data-disposition-merge]");
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
    // Duplicate asks for the survivor: the merge runs instead of a plain disposition.
    merge.hidden = !(chosen && chosen.dataset.merge === "1");
    merge.querySelector("input").required = !merge.hidden;
    merge.querySelector(".muted").hidden = true;
  }
  code.addEventListener("change", sync);
  sync();
});

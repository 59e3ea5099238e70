// The queue page: "tick all" ticks every lead on this page. The form posts without script.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelector("[data-check-all]")?.addEventListener("change", (event) => {
    for (const box of document.querySelectorAll("#queue-assign input[name=lead]")) box.checked = event.target.checked;
  });
});

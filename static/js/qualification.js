// The checklist saves as the rep types (htmx, debounced). A refused answer (400) still shows its reason
// in the item's status line instead of being dropped, as htmx does with error responses by default.
document.addEventListener("htmx:beforeSwap", (event) => {
  const from = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (from && from.hasAttribute("data-swap-errors") && event.detail.xhr.status === 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
document.addEventListener("htmx:afterRequest", (event) => {
  const item = event.detail.elt.closest && event.detail.elt.closest(".checklist-item");
  if (item && event.detail.successful) item.classList.toggle("is-answered", event.detail.elt.value.trim() !== "");
});

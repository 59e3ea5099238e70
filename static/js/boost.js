// A boosted link or form (hx-boost) that is refused or finds nothing shows the site's own 403, 404 or 400 page,
// with its reason, as it would without JavaScript; htmx leaves error responses unswapped by default, so the
// click would otherwise seem to do nothing.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.boosted && [400, 403, 404].includes(event.detail.xhr.status)) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

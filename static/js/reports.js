// Draw each report chart from its json_script data; a bar links to the leads behind it (the page's tables
// carry the same links, so nothing depends on this script).
(function () {
  "use strict";
  function draw() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      var colours = ["#2e6bd6", "#d97706", "#059669", "#7c3aed"];
      var chart = new Chart(canvas, {
        type: spec.type,
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (set, i) {
            return Object.assign({ backgroundColor: colours[i % colours.length], borderColor: colours[i % colours.length],
                                   spanGaps: true, tension: 0.2, pointRadius: 2 }, set);
          })
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          indexAxis: spec.horizontal ? "y" : "x",
          plugins: { legend: { display: spec.datasets.length > 1 } },
          onClick: function (event, elements) {
            if (spec.links && elements.length) {
              var href = spec.links[elements[0].index];
              if (href) window.location.href = href;
            }
          },
          onHover: function (event, elements) {
            event.native.target.style.cursor = spec.links && elements.length ? "pointer" : "default";
          }
        }
      });
      canvas.chart = chart;
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();

/* Charts of the reports page (Chart.js): cases per step per project, and the 30-day trend. */
(function () {
  "use strict";
  if (typeof window.Chart !== "function") { return; }
  var holder = document.getElementById("steps-data");
  var steps = holder ? JSON.parse(holder.getAttribute("data-steps") || "{}") : {};
  document.querySelectorAll("canvas.steps-chart").forEach(function (canvas) {
    var data = steps[canvas.getAttribute("data-project")] || {};
    var ids = Object.keys(data);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: ids.map(function (id) { return data[id].name; }),
        datasets: [
          { label: holder.getAttribute("data-label-open"), data: ids.map(function (id) { return data[id].open - data[id].overdue; }), backgroundColor: "#64b5f6", stack: "s" },
          { label: holder.getAttribute("data-label-overdue"), data: ids.map(function (id) { return data[id].overdue; }), backgroundColor: "#e57373", stack: "s" }
        ]
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
    });
    canvas.setAttribute("data-rendered", "true");
  });
  var trend = document.getElementById("trend-chart");
  if (trend) {
    var t = JSON.parse(trend.getAttribute("data-trend") || "{}");
    new window.Chart(trend, {
      type: "line",
      data: { labels: t.days || [], datasets: [
        { label: trend.getAttribute("data-label-signed"), data: t.signed || [], borderColor: "#2e7d32", backgroundColor: "#2e7d32", tension: 0.2 },
        { label: trend.getAttribute("data-label-done"), data: t.completed_steps || [], borderColor: "#1565c0", backgroundColor: "#1565c0", tension: 0.2 }
      ] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
    trend.setAttribute("data-rendered", "true");
  }
})();

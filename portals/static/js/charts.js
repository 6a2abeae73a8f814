// Charts for report pages: every <canvas data-chart='{"type": "bar", "data": {...}, "options": {...}}'>
// becomes a Chart.js chart (the vendored /static/vendor/chart-4.6.1.umd.min.js, loaded before
// this file). The JSON may also live in <script type="application/json" id="x">, named by
// data-chart="#x". Our own options: "currency" (money axis and tooltips), "percent" (values
// 0-100), "horizontal" (bars across). Numbers follow the page's language (<html lang>).
// Reused by any page: include both scripts with defer in {% block head_extra %}.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";

  function formatter(opts) {
    if (opts.currency) {
      var money = new Intl.NumberFormat(lang, { style: "currency", currency: opts.currency, maximumFractionDigits: 0 });
      return function (v) { return money.format(v); };
    }
    if (opts.percent) {
      var pct = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
      return function (v) { return pct.format(v / 100); };
    }
    var num = new Intl.NumberFormat(lang);
    return function (v) { return num.format(v); };
  }

  function config(canvas) {
    var raw = canvas.getAttribute("data-chart") || "";
    var source = raw.charAt(0) === "#" ? document.querySelector(raw) : null;
    return JSON.parse(source ? source.textContent : raw);
  }

  function draw(canvas) {
    if (canvas.dataset.chartReady || !window.Chart) { return; }
    var cfg = config(canvas);
    var own = cfg.options || {};
    var fmt = formatter(own);
    var horizontal = !!own.horizontal;
    var valueAxis = horizontal ? "x" : "y";
    var scales = {};
    scales[valueAxis] = { beginAtZero: true, ticks: { precision: 0, callback: function (v) { return fmt(v); } } };
    if (own.percent) { scales[valueAxis].suggestedMax = 100; }
    var chart = new window.Chart(canvas, {
      type: cfg.type || "bar",
      data: cfg.data,
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: lang,
        indexAxis: horizontal ? "y" : "x",
        scales: scales,
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var v = horizontal ? ctx.parsed.x : ctx.parsed.y;
                return ctx.dataset.label + ": " + (v === null ? "—" : fmt(v));
              }
            }
          }
        }
      }
    });
    canvas.dataset.chartReady = "1";
    canvas.chart = chart;
  }

  function drawAll(root) { (root || document).querySelectorAll("canvas[data-chart]").forEach(draw); }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { drawAll(evt.target); });

  // Report filters: typing a custom date chooses the "custom" period; a preset clears the dates.
  document.addEventListener("change", function (evt) {
    var t = evt.target;
    if (!t.form || !t.form.querySelector("[data-period-select]")) { return; }
    var period = t.form.querySelector("[data-period-select]");
    if (t.type === "date" && t.value) { period.value = "custom"; }
    if (t === period && t.value !== "custom") {
      t.form.querySelectorAll("input[type=date]").forEach(function (d) { d.value = ""; });
    }
  });
})();

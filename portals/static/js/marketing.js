// Marketing pages (CRM-7/8/9): the segment rule editor and the campaign charts. No inline script (CSP).
(function () {
  "use strict";

  // --- segment rule editor ------------------------------------------------------------------
  // Each row: field select (options carry data-ops, data-hint, data-windowed), operator select,
  // value, "and" + second value (between), "in the last N days" (spend only). The server validates;
  // this only keeps the row tidy: operators that fit the field, the right inputs shown.
  function syncRow(row) {
    var field = row.querySelector("[data-rule-field]");
    var op = row.querySelector("[data-rule-op]");
    var chosen = field.options[field.selectedIndex];
    var ops = (chosen && chosen.dataset.ops ? chosen.dataset.ops : "").split(" ").filter(Boolean);
    var firstAllowed = null;
    Array.prototype.forEach.call(op.options, function (o) {
      var ok = ops.length === 0 || ops.indexOf(o.value) >= 0;
      o.hidden = !ok;
      o.disabled = !ok;
      if (ok && firstAllowed === null) { firstAllowed = o; }
    });
    if (op.selectedOptions.length && op.selectedOptions[0].disabled && firstAllowed) { op.value = firstAllowed.value; }
    var value = row.querySelector("[data-rule-value]");
    value.placeholder = chosen && chosen.dataset.hint ? chosen.dataset.hint : "";
    value.type = chosen && chosen.dataset.kind === "date" ? "date" : "text";
    var between = op.value === "between" && ops.length > 0;
    row.querySelectorAll("[data-rule-between]").forEach(function (el) {
      el.hidden = !between;
      if (el.tagName === "INPUT") { el.type = value.type; }
    });
    row.querySelectorAll("[data-rule-days]").forEach(function (el) { el.hidden = !(chosen && chosen.dataset.windowed === "yes"); });
  }

  function nextIndex(box) {
    var max = -1;
    box.querySelectorAll("[data-rule-field]").forEach(function (el) {
      var m = /^rule-(\d+)-field$/.exec(el.name);
      if (m) { max = Math.max(max, parseInt(m[1], 10)); }
    });
    return max + 1;
  }

  function initEditor() {
    var box = document.getElementById("rule-rows");
    var template = document.getElementById("rule-template");
    if (!box || !template) { return; }
    box.querySelectorAll("[data-rule-row]").forEach(syncRow);
    box.addEventListener("change", function (evt) {
      var row = evt.target.closest("[data-rule-row]");
      if (row && (evt.target.matches("[data-rule-field]") || evt.target.matches("[data-rule-op]"))) { syncRow(row); }
    });
    document.addEventListener("click", function (evt) {
      var add = evt.target.closest("[data-rule-add]");
      var remove = evt.target.closest("[data-rule-remove]");
      if (add) {
        var html = template.innerHTML.replace(/__i__/g, String(nextIndex(box)));
        box.insertAdjacentHTML("beforeend", html);
        var row = box.lastElementChild;
        syncRow(row);
        row.querySelector("[data-rule-field]").focus();
      } else if (remove) {
        remove.closest("[data-rule-row]").remove();
        if (box.querySelectorAll("[data-rule-row]").length === 0) {
          box.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__i__/g, "0"));
          syncRow(box.lastElementChild);
        }
        box.dispatchEvent(new Event("rules-changed", { bubbles: true }));  // recount
      }
    });
  }

  // --- charts -------------------------------------------------------------------------------
  // <canvas data-campaign-chart='{"type": "bar", "labels": [...], "datasets": [...], "currency": "CNY"}'>
  var PALETTE = ["#1f4fd1", "#18794e", "#a35200", "#c0262d", "#6b46c1", "#0e7490"];

  function drawChart(canvas) {
    if (!window.Chart || canvas.dataset.ready) { return; }
    canvas.dataset.ready = "1";
    var cfg = JSON.parse(canvas.getAttribute("data-campaign-chart"));
    var lang = document.documentElement.lang || "en";
    var number = new Intl.NumberFormat(lang);
    var money = cfg.currency ? new Intl.NumberFormat(lang, { style: "currency", currency: cfg.currency, maximumFractionDigits: 0 }) : number;
    var datasets = cfg.datasets.map(function (d, i) {
      var color = d.color || PALETTE[i % PALETTE.length];
      return Object.assign({ backgroundColor: color, borderColor: color, borderWidth: 2, tension: 0, pointRadius: 2 }, d);
    });
    new window.Chart(canvas, {
      type: cfg.type || "bar",
      data: { labels: cfg.labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, locale: lang,
        indexAxis: cfg.horizontal ? "y" : "x",
        scales: (function () {
          var s = {}; s[cfg.horizontal ? "x" : "y"] = { beginAtZero: true, ticks: { precision: 0, callback: function (v) { return (cfg.currency ? money : number).format(v); } } };
          return s;
        })(),
        plugins: {
          legend: { position: "bottom", display: datasets.length > 1 },
          tooltip: { callbacks: { label: function (ctx) {
            var v = cfg.horizontal ? ctx.parsed.x : ctx.parsed.y;
            return ctx.dataset.label + ": " + (cfg.currency ? money : number).format(v);
          } } }
        }
      }
    });
  }

  function init() {
    initEditor();
    document.querySelectorAll("canvas[data-campaign-chart]").forEach(drawChart);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

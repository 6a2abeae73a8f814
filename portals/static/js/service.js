// Service portal behaviour (CRM-10/11): repair-record parts and totals, the satisfaction chart.
// No inline script anywhere (CSP): pages include this file and mark elements with data-* attributes.
(function () {
  "use strict";

  // --- repair records: add/remove part lines, live amounts (the server computes the saved totals) ---
  function decimal(value) {
    var v = String(value || "").replace(/,/g, "").trim();
    return v === "" || isNaN(Number(v)) ? null : Number(v);
  }
  function cents(n) { return Math.round((n + Number.EPSILON) * 100) / 100; }

  function setupRecordForm(form) {
    var money;
    try {
      money = new Intl.NumberFormat(form.dataset.locale || undefined, { style: "currency", currency: form.dataset.currency || "CNY" });
    } catch (e) {
      money = { format: function (n) { return n.toFixed(2); } };
    }
    var body = form.querySelector("[data-parts]");
    var template = document.getElementById("part-row-template");

    function recompute() {
      var parts = 0;
      body.querySelectorAll(".part-row").forEach(function (row) {
        var qty = decimal(row.querySelector("[data-part-qty]").value);
        var cost = decimal(row.querySelector("[data-part-cost]").value);
        var cell = row.querySelector("[data-part-amount]");
        if (qty !== null && cost !== null) {
          var amount = cents(qty * cost);
          parts += amount;
          cell.textContent = money.format(amount);
        } else {
          cell.textContent = "—";
        }
      });
      var hours = decimal((form.querySelector("[data-labour-hours]") || {}).value) || 0;
      var rate = decimal((form.querySelector("[data-labour-rate]") || {}).value) || 0;
      var labour = cents(hours * rate);
      form.querySelector("[data-total-labour]").textContent = money.format(labour);
      form.querySelector("[data-total-parts]").textContent = money.format(cents(parts));
      form.querySelector("[data-total]").textContent = money.format(cents(labour + parts));
    }

    form.addEventListener("input", recompute);
    form.addEventListener("change", function (evt) {
      var select = evt.target.closest("[data-part-product]");
      if (select) {
        var option = select.options[select.selectedIndex];
        var cost = select.closest(".part-row").querySelector("[data-part-cost]");
        if (option && option.dataset.price && !cost.value) { cost.value = option.dataset.price; }
      }
      recompute();
    });
    form.addEventListener("click", function (evt) {
      if (evt.target.closest("[data-add-part]") && template) {
        body.appendChild(template.content.cloneNode(true));
        var rows = body.querySelectorAll(".part-row");
        rows[rows.length - 1].querySelector("input, select").focus();
        recompute();
      }
      var remove = evt.target.closest("[data-remove-part]");
      if (remove) {
        var row = remove.closest(".part-row");
        if (body.querySelectorAll(".part-row").length > 1) {
          row.remove();
        } else {
          row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
          row.querySelector("select").selectedIndex = 0;
        }
        recompute();
      }
    });
    recompute();
  }

  // --- satisfaction: CSAT % and NPS per agent (data from the canvas's data-chart attribute) ---
  function setupChart(canvas) {
    if (typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(canvas.dataset.chart || "{}");
    var colours = ["#1f4fd1", "#18794e"];
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels || [],
        datasets: (data.series || []).map(function (s, i) {
          return { label: s.label, data: s.values, backgroundColor: colours[i % colours.length], borderRadius: 4, maxBarThickness: 36 };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { suggestedMin: -100, max: 100, ticks: { stepSize: 25 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function init() {
    document.querySelectorAll("form.record-form").forEach(setupRecordForm);
    document.querySelectorAll("canvas[data-chart]").forEach(setupChart);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

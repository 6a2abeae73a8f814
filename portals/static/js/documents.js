// Quotes, orders and contracts: small behaviours without inline script (CSP).
(function () {
  "use strict";
  // <button data-print> prints the page (the printable quote / order confirmation).
  document.addEventListener("click", function (evt) {
    var t = evt.target.closest && evt.target.closest("[data-print]");
    if (t) { evt.preventDefault(); window.print(); }
  });
  // <button data-add-row="template-id" data-into="tbody-id"> appends a copy of a <template> row
  // (a new instalment on the payment schedule).
  document.addEventListener("click", function (evt) {
    var t = evt.target.closest && evt.target.closest("[data-add-row]");
    if (!t) { return; }
    evt.preventDefault();
    var tpl = document.getElementById(t.getAttribute("data-add-row"));
    var into = document.getElementById(t.getAttribute("data-into"));
    if (tpl && into) { into.appendChild(tpl.content.cloneNode(true)); }
  });
  // <button data-remove-row> removes its table row (an instalment not yet saved or to be dropped).
  document.addEventListener("click", function (evt) {
    var t = evt.target.closest && evt.target.closest("[data-remove-row]");
    if (!t) { return; }
    evt.preventDefault();
    var row = t.closest("tr");
    if (row) { row.remove(); }
  });
})();

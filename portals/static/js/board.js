// The pipeline board (CRM-3): HTML5 drag-and-drop between and within columns, keyboard moves,
// and the lost-reason dialog. A move POSTs to the card's move URL with htmx.ajax (app.js adds the
// X-CSRF-Token header from <body data-csrf>); the server answers the re-rendered target column
// with the source column and the summary as out-of-band swaps. Nothing moves in the page until
// the server has accepted the move, so a refused move (422: shown as a toast) leaves it as it was.
// Also: on a deal's page, the lost-reason field shows only when the lost stage is chosen.
(function () {
  "use strict";
  var dragged = null;
  var marker = null;

  function board() { return document.getElementById("board"); }
  function cardsOf(column) { return Array.prototype.slice.call(column.querySelectorAll(".board-card")); }

  function clearMarks() {
    if (marker && marker.parentNode) { marker.parentNode.removeChild(marker); }
    document.querySelectorAll(".board-col.is-over").forEach(function (c) { c.classList.remove("is-over"); });
  }

  // The card the pointer is above (the dropped card goes before it), or null for the end.
  function cardBelow(column, y) {
    var cards = cardsOf(column).filter(function (c) { return c !== dragged; });
    for (var i = 0; i < cards.length; i++) {
      var box = cards[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) { return cards[i]; }
    }
    return null;
  }

  function askReason(name, done) {
    var dialog = document.getElementById("lost-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      var answer = window.prompt(name);
      if (answer) { done(answer); }
      return;
    }
    var input = dialog.querySelector("input[name=lost_reason]");
    input.value = "";
    dialog.querySelector("[data-lost-name]").textContent = name;
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "confirm" && input.value.trim()) { done(input.value.trim()); }
    });
    dialog.showModal();
    input.focus();
  }

  function send(card, column, beforeId, afterId, reason) {
    var b = board();
    if (!b || !window.htmx) { return; }
    var cardId = card.dataset.cardId;
    var values = {
      stage_id: column.dataset.stageId,
      before_id: beforeId || "",
      after_id: afterId || "",
      owner: b.dataset.owner || "",
      team: b.dataset.team || ""
    };
    if (reason) { values.lost_reason = reason; }
    card.classList.add("is-saving");
    card.setAttribute("aria-busy", "true");
    window.htmx.ajax("POST", b.dataset.moveUrl.replace("ID", cardId), {
      values: values, target: "#" + column.id, swap: "outerHTML"
    }).then(function () {
      var moved = document.querySelector('.board-card[data-card-id="' + cardId + '"]');
      if (moved && card.dataset.keyboard) { moved.dataset.keyboard = "1"; moved.focus(); }
    });
  }

  // Drop ``card`` into ``column`` before ``before`` (a card element, or null = at the end).
  function place(card, column, before) {
    var from = card.closest(".board-col");
    var closing = column.dataset.kind !== "open";
    if (from === column && closing) { return; }  // won and lost are ordered by closing date
    var cards = cardsOf(column).filter(function (c) { return c !== card; });
    var beforeId = before && before !== card ? before.dataset.cardId : "";
    var afterId = "";
    if (!beforeId && cards.length) { afterId = cards[cards.length - 1].dataset.cardId; }
    if (from === column) {
      var all = cardsOf(column);
      var index = all.indexOf(card);
      var next = all[index + 1];
      if ((before && next === before) || (!before && index === all.length - 1)) { return; }  // same place
    }
    if (column.dataset.kind === "lost" && from !== column) {
      var name = card.querySelector(".card-name").textContent;
      askReason(name, function (reason) { send(card, column, beforeId, afterId, reason); });
      return;
    }
    send(card, column, beforeId, afterId, null);
  }

  document.addEventListener("dragstart", function (evt) {
    var card = evt.target.closest && evt.target.closest(".board-card[draggable=true]");
    if (!card) { return; }
    dragged = card;
    card.classList.add("is-dragging");
    evt.dataTransfer.effectAllowed = "move";
    evt.dataTransfer.setData("text/plain", card.dataset.cardId);
    marker = document.createElement("li");
    marker.className = "drop-marker";
    marker.setAttribute("aria-hidden", "true");
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("is-dragging"); }
    dragged = null;
    clearMarks();
  });

  document.addEventListener("dragover", function (evt) {
    if (!dragged) { return; }
    var column = evt.target.closest && evt.target.closest(".board-col");
    if (!column) { return; }
    evt.preventDefault();
    evt.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("is-over")) { clearMarks(); column.classList.add("is-over"); }
    if (column.dataset.kind !== "open") { return; }
    var list = column.querySelector(".board-cards");
    var before = cardBelow(column, evt.clientY);
    if (before) { list.insertBefore(marker, before); } else { list.appendChild(marker); }
  });

  document.addEventListener("drop", function (evt) {
    if (!dragged) { return; }
    var column = evt.target.closest && evt.target.closest(".board-col");
    if (!column) { return; }
    evt.preventDefault();
    var card = dragged;
    var before = column.dataset.kind === "open" ? cardBelow(column, evt.clientY) : null;
    clearMarks();
    place(card, column, before);
  });

  // Keyboard: Shift + ←/→ to the previous/next stage (on top), Shift + ↑/↓ within the column.
  document.addEventListener("keydown", function (evt) {
    var card = evt.target.closest && evt.target.closest(".board-card");
    if (!card || evt.target !== card) { return; }
    if (evt.key === "Enter") { card.querySelector(".card-name").click(); return; }
    if (!evt.shiftKey || !card.hasAttribute("draggable")) { return; }
    var column = card.closest(".board-col");
    var columns = Array.prototype.slice.call(document.querySelectorAll(".board-col"));
    var at = columns.indexOf(column);
    var cards = cardsOf(column);
    var index = cards.indexOf(card);
    card.dataset.keyboard = "1";
    if (evt.key === "ArrowRight" || evt.key === "ArrowLeft") {
      var target = columns[at + (evt.key === "ArrowRight" ? 1 : -1)];
      if (target) { evt.preventDefault(); place(card, target, cardsOf(target)[0] || null); }
    } else if (evt.key === "ArrowUp" && index > 0) {
      evt.preventDefault();
      place(card, column, cards[index - 1]);
    } else if (evt.key === "ArrowDown" && index < cards.length - 1) {
      evt.preventDefault();
      place(card, column, cards[index + 2] || null);
    }
  });

  document.addEventListener("click", function (evt) {
    var cancel = evt.target.closest && evt.target.closest("[data-dialog-cancel]");
    if (cancel) { cancel.closest("dialog").close("cancel"); }
  });

  // A refused move: the card stays where it was, no longer marked as saving.
  document.addEventListener("htmx:afterRequest", function () {
    document.querySelectorAll(".board-card.is-saving").forEach(function (c) {
      c.classList.remove("is-saving");
      c.removeAttribute("aria-busy");
    });
  });

  // A deal's page: the lost reason is asked for only when the lost stage is chosen.
  function syncLostReason(select) {
    var form = select.closest("form");
    var box = form && form.querySelector("[data-lost-reason]");
    if (!box) { return; }
    var option = select.options[select.selectedIndex];
    var lost = option && option.hasAttribute("data-lost");
    box.hidden = !lost && !box.querySelector(".field-error");
  }
  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches("select[data-stage-select]")) { syncLostReason(evt.target); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-stage-select]").forEach(syncLostReason);
  });
})();

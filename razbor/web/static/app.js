// Comfort only: every action here also works as a plain form without JavaScript.
(function () {
  "use strict";

  function startTimer() {
    var timer = document.getElementById("timer");
    if (!timer) return;
    var started = Date.parse(timer.dataset.started);
    if (isNaN(started)) started = Date.now();
    function tick() {
      var seconds = Math.max(0, Math.floor((Date.now() - started) / 1000));
      var minutes = Math.floor(seconds / 60);
      var rest = seconds % 60;
      timer.textContent = minutes + ":" + (rest < 10 ? "0" : "") + rest;
    }
    tick();
    setInterval(tick, 1000);
  }

  function isTyping(target) {
    return target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" ||
                      target.tagName === "SELECT" || target.isContentEditable);
  }

  function onKey(event) {
    var analysis = document.getElementById("analysis");
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) &&
        event.target.id === "attempt-text") {
      event.preventDefault();
      event.target.form.requestSubmit(document.getElementById("submit-attempt"));
      return;
    }
    if (isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === " " && analysis && !analysis.open) {
      event.preventDefault();
      analysis.open = true;
      return;
    }
    if (event.key === "Enter" && analysis && analysis.open) {
      var suggested = document.querySelector(".rating button.suggested");
      if (suggested) {
        event.preventDefault();
        suggested.click();
      }
      return;
    }
    if (/^[1-4]$/.test(event.key) && analysis && analysis.open) {
      var button = document.querySelector('.rating button[data-key="' + event.key + '"]');
      if (button) {
        event.preventDefault();
        button.click();
      }
    }
  }

  document.addEventListener("DOMContentLoaded", startTimer);
  document.addEventListener("keydown", onKey);
})();

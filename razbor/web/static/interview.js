// Mock interviews, comfort only: the pages show the time and take every answer without it.
(function () {
  "use strict";

  function format(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  // Counts down to the end of the answer's share of the interview, then counts the overrun.
  function startCountdown() {
    var countdown = document.getElementById("countdown");
    if (!countdown) return;
    var ends = Date.parse(countdown.dataset.ends);
    if (isNaN(ends)) return;
    function tick() {
      var left = Math.round((ends - Date.now()) / 1000);
      if (left >= 0) {
        countdown.textContent = format(left);
      } else {
        countdown.textContent = "+" + format(-left) + " " + countdown.dataset.over;
        countdown.classList.add("over");
      }
    }
    tick();
    setInterval(tick, 1000);
  }

  // Ctrl+Enter anywhere on the report saves the ratings chosen with Tab and the arrow keys.
  function onKey(event) {
    var ratings = document.getElementById("ratings");
    var save = document.getElementById("save-ratings");
    if (ratings && save && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      ratings.requestSubmit(save);
    }
  }

  document.addEventListener("DOMContentLoaded", startCountdown);
  document.addEventListener("keydown", onKey);
})();

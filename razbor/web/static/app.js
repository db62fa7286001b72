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
    if ((event.key === "r" || event.key === "к") && document.getElementById("record") &&
        !document.getElementById("record").hidden) {
      event.preventDefault();
      document.getElementById("record").click();
      return;
    }
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

  function setupRecorder() {
    var box = document.getElementById("recorder");
    var button = document.getElementById("record");
    if (!box || !button || !navigator.mediaDevices || !window.MediaRecorder) return;
    var status = document.getElementById("record-status");
    var recorder = null;
    var chunks = [];
    button.hidden = false;

    function say(text) { status.textContent = text; }

    // The server's reasons are in English (the JSON API's language); the page says what
    // failed in its own language and keeps the reason as a tooltip.
    function fail(reason) {
      say(box.dataset.failed);
      status.title = reason || "";
    }

    function poll(id) {
      fetch("/api/recordings/" + id).then(function (response) { return response.json(); })
        .then(function (recording) {
          if (recording.status === "done") {
            var text = document.getElementById("attempt-text");
            text.value = recording.transcript;
            document.getElementById("recording-id").value = id;
            say(box.dataset.done);
            text.focus();
          } else if (recording.status === "failed") {
            fail(recording.error);
          } else {
            say(box.dataset.transcribing + " " + Math.round(recording.progress * 100) + "%");
            setTimeout(function () { poll(id); }, 700);
          }
        });
    }

    function upload(blob) {
      var form = new FormData();
      form.append("audio", blob, "answer.webm");
      say(box.dataset.transcribing);
      fetch("/api/cards/" + box.dataset.cardId + "/recordings", {method: "POST", body: form})
        .then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) throw new Error(body.detail);
            poll(body.id);
          });
        })
        .catch(function (error) { fail(error.message); });
    }

    button.addEventListener("click", function () {
      if (recorder && recorder.state === "recording") {
        recorder.stop();
        return;
      }
      navigator.mediaDevices.getUserMedia({audio: true}).then(function (stream) {
        chunks = [];
        recorder = new MediaRecorder(stream);
        recorder.ondataavailable = function (event) { if (event.data.size) chunks.push(event.data); };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (track) { track.stop(); });
          button.setAttribute("aria-pressed", "false");
          button.textContent = box.dataset.record;
          upload(new Blob(chunks, {type: recorder.mimeType || "audio/webm"}));
        };
        recorder.start(250);
        button.setAttribute("aria-pressed", "true");
        button.textContent = box.dataset.stop;
        say("●");
      }).catch(function () { say(box.dataset.noMicrophone); });
    });
  }

  function showChosenFile() {
    var input = document.getElementById("audio-file");
    var chosen = document.getElementById("file-chosen");
    if (!input || !chosen) return;
    input.addEventListener("change", function () {
      if (input.files.length) chosen.textContent = input.files[0].name;
    });
  }

  function awaitGrading() {
    var notice = document.getElementById("grading");
    if (!notice) return;
    var tries = 0;
    function check() {
      tries += 1;
      fetch("/api/attempts/" + notice.dataset.attemptId)
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (attempt) {
          if (attempt.grading) { later(); return; }
          var url = new URL(window.location.href);
          if (document.getElementById("analysis").open) url.searchParams.set("reveal", "1");
          window.location.replace(url.toString());
        })
        .catch(later);
    }
    function later() {
      // Every 1.5 s for the first minute, then every 10 s; after ten minutes the link stays.
      if (tries < 40) setTimeout(check, 1500);
      else if (tries < 94) setTimeout(check, 10000);
    }
    later();
  }

  document.addEventListener("DOMContentLoaded", startTimer);
  document.addEventListener("DOMContentLoaded", awaitGrading);
  document.addEventListener("DOMContentLoaded", setupRecorder);
  document.addEventListener("DOMContentLoaded", showChosenFile);
  document.addEventListener("keydown", onKey);
})();

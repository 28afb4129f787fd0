// aegir's own script: the live log of a task page, its progress bar, and
// confirmations of dangerous buttons. No inline script anywhere: the
// Content-Security-Policy allows only files served from /static/.
(function () {
  "use strict";

  // Forms with data-confirm ask first. A form with a "confirmed" field
  // says so to the server, which otherwise asks on a page of its own (the
  // way without JavaScript).
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (!msg) {
      return;
    }
    if (!window.confirm(msg)) {
      e.preventDefault();
      return;
    }
    var confirmed = e.target.querySelector('input[name="confirmed"]');
    if (confirmed) {
      confirmed.value = "1";
    }
  }, true);

  function follow(box) {
    var id = box.getAttribute("data-task");
    var log = document.getElementById("log");
    var progress = document.getElementById("progress");
    var elapsed = document.getElementById("elapsed");
    var expected = parseFloat(box.getAttribute("data-expected") || "0");
    var started = parseInt(box.getAttribute("data-started") || "0", 10);
    var waiting = box.getAttribute("data-waiting") || "waiting for a free worker";
    var last = 0;
    var items = log.querySelectorAll("li[data-seq]");
    if (items.length) {
      last = parseInt(items[items.length - 1].getAttribute("data-seq"), 10);
    }

    // The progress bar compares the time spent with how long the last
    // tasks of this type took; without a history it stays indeterminate.
    var timer = window.setInterval(function () {
      var now = Date.now() / 1000;
      if (!started) {
        elapsed.textContent = waiting + "…";
        return;
      }
      var spent = Math.max(0, now - started);
      elapsed.textContent = spent.toFixed(0) + " s";
      if (expected > 0 && progress) {
        progress.value = Math.min(95, (100 * spent) / expected);
      }
    }, 500);

    var source = new EventSource("/api/tasks/" + id + "/log?after=" + last);
    source.addEventListener("log", function (ev) {
      var e = JSON.parse(ev.data);
      if (e.seq <= last) {
        return;
      }
      last = e.seq;
      if (!started) {
        started = Date.now() / 1000;
      }
      var li = document.createElement("li");
      li.className = "lvl-" + e.level;
      li.setAttribute("data-seq", String(e.seq));
      var t = document.createElement("time");
      t.setAttribute("datetime", e.time);
      t.textContent = new Date(e.time).toLocaleTimeString([], { hour12: false });
      var span = document.createElement("span");
      span.textContent = e.message;
      li.appendChild(t);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(span);
      log.appendChild(li);
      li.scrollIntoView({ block: "nearest" });
    });
    function done() {
      source.close();
      window.clearInterval(timer);
      var bar = document.getElementById("progress-box");
      if (bar) {
        bar.remove();
      }
      // The final status, without a reload.
      window.htmx.ajax("GET", "/tasks/" + id + "/summary", { target: "#task-summary", swap: "outerHTML" });
    }
    source.addEventListener("end", done);
    source.addEventListener("error", function (ev) {
      // An "error" event with data is the server's; without data the
      // connection dropped and EventSource reconnects by itself, asking
      // for the lines after the last one it got.
      if (ev.data) {
        done();
      }
    });
  }

  function init() {
    var box = document.getElementById("task");
    if (box && box.getAttribute("data-live")) {
      follow(box);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

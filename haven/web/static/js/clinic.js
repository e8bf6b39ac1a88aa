/* Clinic pages: small enhancements over plain forms (everything works without this script). */
(function () {
  "use strict";

  // After DOMContentLoaded: every deferred script (the QR decoder, the scanner) has run by then.
  function ready(fn) {
    if (document.readyState === "complete") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    document.querySelectorAll(".js-hide").forEach(function (el) {
      el.hidden = true;
    });
    document.querySelectorAll("select.autosubmit").forEach(function (select) {
      select.addEventListener("change", function () {
        select.form.submit();
      });
    });
    document.querySelectorAll(".print-button").forEach(function (button) {
      button.addEventListener("click", function () {
        window.print();
      });
    });
    document.querySelectorAll(".scanner").forEach(function (box) {
      var start = box.querySelector(".scanner-start");
      var status = box.querySelector(".scanner-status");
      var video = box.querySelector(".scanner-video");
      if (!window.HavenScanner || !window.jsQR) {
        box.hidden = true;
        return;
      }
      var target = document.getElementById(box.dataset.target);
      var form = document.getElementById(box.dataset.submit);
      var scanner = new window.HavenScanner(
        video,
        function (text) {
          target.value = text;
          form.submit();
        },
        function (state) {
          var message = box.dataset["msg" + state.charAt(0).toUpperCase() + state.slice(1)];
          status.textContent = message || "";
          start.hidden = state === "looking" || state === "starting";
        }
      );
      start.addEventListener("click", function () {
        scanner.start();
      });
    });
  });
})();

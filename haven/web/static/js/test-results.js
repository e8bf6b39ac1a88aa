/* The visit form: the result list offers only the results of the chosen test (the server checks it too). */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState === "complete") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var test = document.getElementById("test_test");
    var result = document.getElementById("test_result");
    if (!test || !result) return;
    function offer() {
      Array.prototype.forEach.call(result.options, function (option) {
        if (!option.value) return;
        var fits = !test.value || option.getAttribute("data-tests").split(" ").indexOf(test.value) >= 0;
        option.hidden = !fits;
        option.disabled = !fits;
        if (!fits && option.selected) result.value = "";
      });
    }
    test.addEventListener("change", offer);
    offer();
  });
})();

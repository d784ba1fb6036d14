/* Behaviour every console page shares, kept out of the markup: the Content-Security-Policy allows
   no inline script, so no onsubmit="..." either.

   <form data-confirm="Delete the channel X?">: asks before submitting; Cancel keeps the page. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();

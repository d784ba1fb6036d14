/* Behaviour every console page shares, kept out of the markup: the Content-Security-Policy allows
   no inline script, so no onsubmit="..." either.

   <form data-confirm="Delete the channel X?">: asks before submitting; Cancel keeps the page.

   Menus made of <details> (the user menu, Snooze): Enter or Space on the summary opens one (the
   browser does that); Escape closes it and puts the focus back on its summary, as does moving the
   focus or clicking anywhere outside it, so an open menu never lingers over the page. */
(function () {
  "use strict";
  var MENUS = "details.user-menu[open], details.snooze-menu[open]";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  function closeMenu(menu, refocus) {
    menu.open = false;
    var summary = menu.querySelector("summary");
    if (refocus && summary) summary.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !(event.target instanceof Element)) return;
    var menu = event.target.closest(MENUS);
    if (!menu) return;
    event.preventDefault();
    closeMenu(menu, true);
  });

  document.addEventListener("focusout", function (event) {
    var menu = event.target instanceof Element && event.target.closest(MENUS);
    var next = event.relatedTarget;  // null when the focus leaves for nothing (a click on the menu's padding)
    if (menu && next instanceof Node && !menu.contains(next)) closeMenu(menu, false);
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll(MENUS).forEach(function (menu) {
      if (!menu.contains(event.target)) closeMenu(menu, false);
    });
  });
})();

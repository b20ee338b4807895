// guichet's pages: shows the Caps Lock warning (#caps) while a password field has the focus
// and Caps Lock is on. The pages work without it.
(function () {
  var warning = document.getElementById('caps');
  if (!warning) {
    return;
  }
  function check(event) {
    if (event.getModifierState) {
      warning.hidden = !event.getModifierState('CapsLock');
    }
  }
  var fields = document.querySelectorAll('input[type=password]');
  for (var i = 0; i < fields.length; i++) {
    fields[i].addEventListener('keydown', check);
    fields[i].addEventListener('keyup', check);
    fields[i].addEventListener('blur', function () {
      warning.hidden = true;
    });
  }
})();

// Progressive enhancement: a "copy" button beside a read-only link field. Without JavaScript
// the button stays hidden and the field can be selected and copied by hand.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var field = document.getElementById(button.getAttribute("data-copy"));
  if (!field || !navigator.clipboard) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(field.value).then(function () {
      var note = document.querySelector(".copied");
      if (note) { note.hidden = false; }
    }, function () { field.select(); });
  });
});

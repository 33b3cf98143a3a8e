// Back in the inbox from an opened message, the browser may show the list as it was left (the
// back/forward cache), with the message still marked unread. Reload it: the marks are the server's.
window.addEventListener("pageshow", function (event) {
  "use strict";
  if (event.persisted) {
    window.location.reload();
  }
});

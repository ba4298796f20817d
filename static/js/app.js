// Small behaviours that would otherwise need inline script (the CSP forbids it).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  await navigator.clipboard.writeText(source.value ?? source.textContent);
  button.textContent = "Copied";
});

// htmx swaps nothing when a request fails: say what happened in base.html's alert region, which
// sticks to the top of the viewport (app.css), so it shows wherever the person has scrolled to.
// - A message is set on the frame after the region is emptied, so the same message a second time
//   is a new alert that screen readers announce again (an unchanged text is not announced).
// - It goes once a later request the person made (a click, a submit) succeeds anywhere on the
//   page. Background polls don't clear it: their success says nothing about what failed.
(() => {
  const region = () => document.getElementById("request-problem");
  let latest = 0; // only the newest message (or clearing) wins a pending frame

  const show = (text) => {
    const box = region();
    if (!box) return;
    const mine = ++latest;
    box.textContent = "";
    requestAnimationFrame(() => {
      if (mine === latest) box.textContent = text;
    });
  };

  const clear = () => {
    latest++;
    const box = region();
    if (box && box.textContent) box.textContent = "";
  };

  // Error pages carry a title and a hint (templates/errors/_error.html): show both.
  const explain = (xhr) => {
    const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    const title = page.querySelector("#error h1")?.textContent.trim();
    const hint = page.querySelector("#error p")?.textContent.trim();
    if (title) return hint ? `${title}. ${hint}` : `${title}.`;
    return `Truss answered with an error (${xhr.status}). Reload the page and try again.`;
  };

  document.addEventListener("htmx:responseError", (event) => show(explain(event.detail.xhr)));
  document.addEventListener("htmx:sendError", () => {
    show("Truss couldn't be reached. Check your connection, then try again.");
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    // a poll ("every 2s") has no triggering event; a click or a submit has one
    const byThePerson = Boolean(event.detail.requestConfig?.triggeringEvent);
    if (event.detail.successful && byThePerson) clear();
  });
})();

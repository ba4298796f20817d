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

// htmx swaps nothing when a request fails: say what happened in base.html's alert region.
(() => {
  const region = () => document.getElementById("request-problem");
  let failedOn = null;

  const show = (text, element) => {
    const box = region();
    if (!box) return;
    box.textContent = text;
    failedOn = element;
  };

  // Error pages carry a title and a hint (templates/errors/_error.html): show both.
  const explain = (xhr) => {
    const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    const title = page.querySelector("#error h1")?.textContent.trim();
    const hint = page.querySelector("#error p")?.textContent.trim();
    if (title) return hint ? `${title}. ${hint}` : `${title}.`;
    return `Truss answered with an error (${xhr.status}). Reload the page and try again.`;
  };

  document.addEventListener("htmx:responseError", (event) => {
    show(explain(event.detail.xhr), event.detail.elt);
  });
  document.addEventListener("htmx:sendError", (event) => {
    show("Truss couldn't be reached. Check your connection, then try again.", event.detail.elt);
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.successful && event.detail.elt === failedOn && region()) {
      region().textContent = "";
      failedOn = null;
    }
  });
})();

// The publish form: a live character count under each text box ("12 of 100 characters",
// "5 over the limit of 100 characters"; the boxes have no maxlength, which would count UTF-16
// units, and the server enforces the limits), the submit button saying
// "Schedule" when a time is chosen, and typing a time choosing "At a date and time".
// Event delegation only: the form arrives by htmx.
// No inline script and no eval: the CSP forbids both.
(() => {
  const byId = (id) => (id ? document.getElementById(id) : null);
  // Python counts code points: count the same way (an emoji is one character, not two).
  const length = (text) => Array.from(text).length;

  const count = (box) => {
    const output = byId(box.dataset.counter);
    if (!output) return;
    const limit = Number(output.dataset.limit);
    const used = length(box.value);
    output.textContent = used > limit
      ? `${used - limit} over the limit of ${limit} characters`
      : `${used} of ${limit} characters`;
    output.classList.toggle("field-error", used > limit);
  };
  const label = (form) => {
    const button = form.querySelector("[data-later]");
    const later = form.querySelector("input[name=when][value=later]");
    if (button && later) button.textContent = later.checked ? button.dataset.later : button.dataset.now;
  };
  const refresh = (root) => {
    root.querySelectorAll("[data-counter]").forEach(count);
    root.querySelectorAll("form").forEach(label);
  };

  document.addEventListener("input", (event) => {
    if (event.target.matches("[data-counter]")) count(event.target);
  });
  document.addEventListener("change", (event) => {
    const form = event.target.closest("form");
    if (event.target.name === "when" && form) label(form);
  });
  // Typing a time means "at a date and time".
  document.addEventListener("input", (event) => {
    if (event.target.id !== "publish-at" || !event.target.value) return;
    const later = byId("when-later");
    if (later && !later.checked) {
      later.checked = true;
      later.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  document.addEventListener("DOMContentLoaded", () => refresh(document));
  document.addEventListener("htmx:afterSwap", () => refresh(document));
})();

// Trim helpers for the clip page and the asset page: "set start/end to the player's time",
// a live length read-out, and "play the selected part". No inline script: the CSP forbids it.
(() => {
  const seconds = (text) => {
    const parts = String(text).trim().replace(",", ".").split(":");
    if (!parts.length || parts.length > 3 || parts.some((p) => p === "" || isNaN(Number(p)))) return null;
    return parts.reduce((total, part) => total * 60 + Number(part), 0);
  };
  const clock = (value) => {
    const minutes = Math.floor(value / 60);
    const rest = (value - minutes * 60).toFixed(1).padStart(4, "0");
    return `${minutes}:${rest.endsWith(".0") ? rest.slice(0, -2) : rest}`;
  };
  const byId = (id) => (id ? document.getElementById(id) : null);

  const showLength = (output) => {
    const start = seconds(byId(output.dataset.lengthFrom)?.value ?? "");
    const end = seconds(byId(output.dataset.lengthTo)?.value ?? "");
    output.textContent = start !== null && end !== null && end > start ? clock(end - start) : "—";
  };
  const refresh = (root) => root.querySelectorAll("output[data-length-from]").forEach(showLength);

  let stopAt = null;
  document.addEventListener("click", (event) => {
    const setter = event.target.closest("[data-set-time]");
    if (setter) {
      const player = byId(setter.dataset.player);
      const input = byId(setter.dataset.setTime);
      if (!player || !input) return;
      input.value = player.currentTime.toFixed(1);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      return;
    }
    const preview = event.target.closest("[data-preview]");
    if (preview) {
      const player = byId(preview.dataset.preview);
      const start = seconds(byId(preview.dataset.from)?.value ?? "");
      const end = seconds(byId(preview.dataset.to)?.value ?? "");
      if (!player || start === null) return;
      player.currentTime = start;
      stopAt = end !== null && end > start ? end : null;
      player.play();
    }
  });
  document.addEventListener("timeupdate", (event) => {
    if (stopAt !== null && event.target.currentTime >= stopAt) {
      event.target.pause();
      stopAt = null;
    }
  }, true);
  document.addEventListener("input", (event) => refresh(event.target.closest("form") || document));
  document.addEventListener("DOMContentLoaded", () => refresh(document));
  document.addEventListener("htmx:afterSwap", () => refresh(document));
  if (document.readyState !== "loading") refresh(document);
})();

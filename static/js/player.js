// Buttons with data-seek="<seconds>" move the asset page's player there and play.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-seek]");
  const player = document.getElementById("player");
  if (!button || !player) return;
  player.currentTime = Number(button.dataset.seek);
  player.play().catch(() => {});
  player.scrollIntoView({ behavior: "smooth", block: "center" });
});

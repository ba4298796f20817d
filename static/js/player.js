// Buttons with data-seek="<seconds>" move the asset page's player there and play.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-seek]");
  const player = document.getElementById("player");
  if (!button || !player) return;
  player.currentTime = Number(button.dataset.seek);
  player.play().catch(() => {});
  player.scrollIntoView({ behavior: "smooth", block: "center" });
});

// A <video data-problem="<id>"> the browser can't play is hidden and the message in #<id> shown
// (MPEG-2, for one, plays nowhere in a browser; Truss's clips are MP4 and play everywhere).
(() => {
  const STOPPED_LOADING = "The video stopped loading. Reload the page to try again.";

  const explain = (video) => {
    const box = document.getElementById(video.dataset.problem);
    if (!box || !video.error) return;
    if (video.error.code === MediaError.MEDIA_ERR_NETWORK) box.textContent = STOPPED_LOADING;
    box.hidden = false;
    video.hidden = true;
  };

  // `error` doesn't bubble: listen in the capture phase, and look at players that failed
  // before this script ran.
  document.addEventListener("error", (event) => {
    if (event.target instanceof HTMLVideoElement && event.target.dataset.problem) explain(event.target);
  }, true);
  document.querySelectorAll("video[data-problem]").forEach(explain);
})();

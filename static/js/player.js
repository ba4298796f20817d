// Buttons with data-seek="<seconds>" move the asset page's player there and play.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-seek]");
  const player = document.getElementById("player");
  if (!button || !player || player.hidden) return; // a hidden player can't be watched
  player.currentTime = Number(button.dataset.seek);
  player.play().catch(() => {});
  player.scrollIntoView({ behavior: "smooth", block: "center" });
});

// A <video data-problem="<id>"> the browser can't play is hidden and the message in #<id> shown.
// Two ways to fail: the browser refuses the file (`error`: MPEG-2, for one, plays nowhere in a
// browser), or it reads the container but not the picture's codec (HEVC or MPEG-4 Part 2 in an
// MP4) and would play the sound over a black frame: its metadata arrives with videoWidth 0.
// Only players marked data-expects-picture (a source that has a video stream) are judged on
// the second. Truss's clips are H.264 MP4 and play everywhere.
(() => {
  const STOPPED_LOADING = "The video stopped loading. Reload the page to try again.";
  const PLAYER = "video[data-problem]";

  const showProblem = (video, text) => {
    const box = document.getElementById(video.dataset.problem);
    if (!box) return;
    if (text) box.textContent = text;
    box.hidden = false;
    video.pause();
    video.hidden = true;
  };

  const failed = (video) => {
    if (!video.error) return;
    const network = video.error.code === MediaError.MEDIA_ERR_NETWORK;
    showProblem(video, network ? STOPPED_LOADING : null);
  };

  const noPicture = (video) => {
    const known = video.readyState >= HTMLMediaElement.HAVE_METADATA;
    if (known && "expectsPicture" in video.dataset && video.videoWidth === 0) showProblem(video);
  };

  // Media events don't bubble: listen in the capture phase, and look at players that failed
  // or loaded before this script ran.
  const on = (type, judge) => document.addEventListener(type, (event) => {
    if (event.target instanceof HTMLVideoElement && event.target.matches(PLAYER)) judge(event.target);
  }, true);
  on("error", failed);
  on("loadedmetadata", noPicture);
  document.querySelectorAll(PLAYER).forEach((video) => {
    failed(video);
    noPicture(video);
  });
})();

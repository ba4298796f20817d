// The "Your data" import form: ask Truss for an upload, send the archive straight to storage,
// confirm, then show the page (its import row polls the progress).
(function () {
  "use strict";
  const form = document.querySelector("[data-archive-import]");
  if (!form) return;
  const status = document.getElementById("archive-status");
  const bar = document.getElementById("archive-progress");

  function say(text) { status.textContent = text; }

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.dataset.csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || "Truss couldn't start the import. Try again.");
    return data;
  }

  function upload(post, file) {
    return new Promise((resolve, reject) => {
      const body = new FormData();
      Object.entries(post.fields).forEach(([name, value]) => body.append(name, value));
      body.append("file", file);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", post.url);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener("load", () => (xhr.status < 300 ? resolve() : reject(new Error("Storage refused the archive. Try again."))));
      xhr.addEventListener("error", () => reject(new Error("The upload stopped: check your connection and try again.")));
      xhr.send(body);
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.querySelector("input[type=file]").files[0];
    if (!file) { say("Choose the archive (.zip) first."); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    try {
      say("Uploading " + file.name + "…");
      const started = await postJSON(form.dataset.start, { size: file.size, content_type: file.type });
      await upload(started.post, file);
      say("Uploaded. Starting the import…");
      const done = await postJSON(started.confirm, {});
      window.location.assign(done.page || started.page);
    } catch (problem) {
      say(problem.message);
      button.disabled = false;
    }
  });
})();

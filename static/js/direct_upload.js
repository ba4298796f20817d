// One file straight to storage with a presigned POST, for any form marked data-direct-upload:
// ask Truss for the upload (POST JSON to data-start: the file's name, size and type, plus the
// form's fields named in data-send), send the file with a progress bar, confirm, then open the
// page Truss names. Used by the chat import (streams) and the archive import (Your data).
// The form's data attributes: start, csrf, status and progress (element ids), missing (what
// to say with no file chosen), refused (what to say when storage refuses the file).
(function () {
  "use strict";

  async function postJSON(form, url, body) {
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

  function upload(form, bar, post, file) {
    return new Promise((resolve, reject) => {
      const body = new FormData();
      Object.entries(post.fields).forEach(([name, value]) => body.append(name, value));
      body.append("file", file);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", post.url);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener("load", () => (xhr.status < 300 ? resolve() : reject(new Error(form.dataset.refused))));
      xhr.addEventListener("error", () => reject(new Error("The upload stopped: check your connection and try again.")));
      xhr.send(body);
    });
  }

  function request(form, file) {
    const body = { file_name: file.name, size: file.size, content_type: file.type };
    (form.dataset.send || "").split(" ").filter(Boolean).forEach((name) => {
      body[name] = form.querySelector(`[name="${name}"]`).value;
    });
    return body;
  }

  function wire(form) {
    const status = document.getElementById(form.dataset.status);
    const bar = document.getElementById(form.dataset.progress);
    const say = (text) => { status.textContent = text; };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = form.querySelector("input[type=file]").files[0];
      if (!file) { say(form.dataset.missing); return; }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      try {
        say("Uploading " + file.name + "…");
        const started = await postJSON(form, form.dataset.start, request(form, file));
        await upload(form, bar, started.post, file);
        say("Uploaded. Starting the import…");
        const done = await postJSON(form, started.confirm, {});
        window.location.assign(done.page || started.page);
      } catch (problem) {
        say(problem.message);
        button.disabled = false;
      }
    });
  }

  document.querySelectorAll("form[data-direct-upload]").forEach(wire);
})();

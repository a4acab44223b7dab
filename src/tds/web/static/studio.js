// The Studio: pick or paste an image, see the cost, render through the dashboard's session
// endpoints (the same services as the API), follow progress, compare before/after.
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("studio-data").textContent);
  const $ = (id) => document.getElementById(id);
  const form = $("studio");
  const file = $("file");
  let picked = null; // a File or Blob chosen, dropped or pasted
  let current = null; // the render shown in the result panel

  const headers = { "X-CSRF-Token": data.csrf, Accept: "application/json" };

  // The project code is kept for the next render, per team, in this browser.
  const projectKey = `tds.studio.project.${data.account}`;
  function rememberProject() {
    const value = form.project.value.trim();
    try {
      if (value) localStorage.setItem(projectKey, value);
      else localStorage.removeItem(projectKey);
    } catch (e) { /* storage off (private mode): the field simply starts empty */ }
  }
  try { form.project.value = localStorage.getItem(projectKey) || ""; } catch (e) { /* as above */ }

  function showMessage(text) {
    $("message").textContent = text;
    $("message").hidden = !text;
  }

  // Which engine serves the chosen kind, and plainly whether it is generative AI.
  function engineNote() {
    const engine = data.engines[form.kind.value];
    let text = "";
    if (engine && engine.generative === false) {
      text = `Rendered by ${engine.name}: an image pipeline, not generative AI. It grades and ` +
        "relights your image and adds no new objects; line sketches need a generative engine.";
    } else if (engine && engine.generative) {
      text = `Rendered by ${engine.name}, a generative model: ${engine.description}`;
    } else if (engine) {
      text = `Rendered by ${engine.name}: ${engine.description}`;
    }
    $("engine-note").textContent = text;
  }

  function cost() {
    engineNote();
    const kind = form.kind.value;
    const price = (data.costs[kind] || {})[form.resolution.value];
    $("cost").textContent = price === undefined ? "–" : price;
    return price;
  }

  function choose(blob) {
    if (!blob || !/^image\/(png|jpeg|webp)$/.test(blob.type)) {
      showMessage("Choose a PNG, JPEG or WebP image.");
      return;
    }
    picked = blob;
    form.render_id.value = "";
    form.kind.value = "render";
    $("preview").src = URL.createObjectURL(blob);
    $("preview").hidden = false;
    showMessage("");
    cost();
  }

  file.addEventListener("change", () => choose(file.files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    choose(e.dataTransfer.files[0]);
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); file.click(); }
  });
  document.addEventListener("paste", (e) => {
    const item = [...e.clipboardData.items].find((i) => i.type.startsWith("image/"));
    if (item) choose(item.getAsFile());
  });
  form.kind.addEventListener("change", cost);
  form.resolution.addEventListener("change", cost);
  form.geometry_fidelity.addEventListener("input", () => {
    $("fidelity-out").textContent = form.geometry_fidelity.value;
  });

  async function send(body) {
    const response = await fetch("/studio/renders", { method: "POST", headers, body });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error ? answer.error.message : "Something went wrong.");
    return answer;
  }

  async function follow(renderId) {
    $("result").hidden = false;
    $("compare").hidden = true;
    $("video").hidden = true;
    $("actions").hidden = true;
    $("result-title").textContent = "Rendering…";
    for (;;) {
      const response = await fetch(`/studio/renders/${renderId}`, { headers });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error.message);
      const render = answer.render;
      $("balance").textContent = answer.credits;
      document.querySelector("[data-testid=balance]").textContent = `${answer.credits} credits`;
      if (render.progress && render.progress.max) {
        $("progress").value = render.progress.value / render.progress.max;
      }
      if (render.status !== "queued" && render.status !== "processing") return render;
      $("result-title").textContent = render.queue_position
        ? `Waiting in line (${render.queue_position} ahead)…` : "Rendering…";
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  }

  function show(render) {
    current = render;
    $("result-project").textContent = render.project ? `Project: ${render.project}` : "";
    $("result-project").hidden = !render.project;
    if (render.status !== "done") {
      $("result-title").textContent = render.status === "failed"
        ? `Failed: ${render.error.message}` : `Stopped: the render was ${render.status}.`;
      return;
    }
    const kept = render.fidelity_score === null ? "" : ` · geometry kept ${render.fidelity_score.toFixed(2)}`;
    $("result-title").textContent =
      `Done · ${render.credits_used} credits · by ${render.engine}${kept}`;
    $("progress").value = 1;
    $("before").src = render.input_image_url;
    $("after").src = render.output_image_url;
    $("compare").hidden = false;
    if (render.output_video_url) {
      $("video").src = render.output_video_url;
      $("video").hidden = false;
    }
    $("download").href = render.output_video_url || render.output_image_url;
    $("details").href = `/renders/${render.id}`;
    $("actions").hidden = false;
  }

  $("slider").addEventListener("input", () => {
    document.querySelector(".after-clip").style.clipPath =
      `inset(0 0 0 ${$("slider").value}%)`;
  });

  async function run(body) {
    $("submit").disabled = true;
    showMessage("");
    try {
      const answer = await send(body);
      $("balance").textContent = answer.credits;
      show(await follow(answer.render.id));
    } catch (error) {
      showMessage(error.message);
    } finally {
      $("submit").disabled = false;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    rememberProject();
    const body = new FormData(form);
    body.delete("file");
    if (!form.render_id.value) {
      if (!picked) { showMessage("Choose an image first."); return; }
      body.append("file", picked, picked.name || "capture.png");
    }
    run(body);
  });

  document.querySelectorAll("[data-follow]").forEach((button) => {
    button.addEventListener("click", () => {
      if (!current) return;
      rememberProject();
      const body = new FormData(form);
      body.delete("file");
      body.set("render_id", current.id);
      body.set("kind", button.dataset.follow);
      run(body);
    });
  });

  cost();
})();

// `#/new`: a compare or bench of this gateway's models, on the bundled workload or an uploaded JSONL, with the
// CLI's load (in flight or a rate), goodput objectives and sweep.
import { get, post } from "../api.js";
import { element, labelled, select } from "../dom.js";

const numberInput = (name, attributes) => element("input", { type: "number", name, ...attributes });

export async function newRunView(view) {
  const { data } = await get("/ui/api/models");
  const radio = (name, value, text, checked) =>
    element(
      "label",
      {},
      element("input", { type: "radio", name, value, ...(checked ? { checked: "" } : {}) }),
      ` ${text} `,
    );
  const fieldset = (legend, ...children) =>
    element("fieldset", {}, element("legend", {}, legend), ...children);
  const requests = numberInput("requests", { min: "1", max: "100000", value: "100" });
  const concurrency = numberInput("concurrency", { min: "1", max: "1024", value: "1" });
  const rate = numberInput("rate", { min: "0.001", step: "any", placeholder: "requests/s" });
  const maxTokens = numberInput("max_tokens", { min: "1", max: "32768", placeholder: "64" });
  const slo = Object.fromEntries(
    ["ttft_ms", "itl_ms", "e2e_ms"].map((name) => [name, numberInput(name, { min: "1", step: "any" })]),
  );
  const sweepParameter = select(
    "sweep",
    [
      ["", "no sweep"],
      ["concurrency", "concurrency"],
      ["rate", "rate (requests/s)"],
      ["batch", "batch (texts per encoder request; llama.cpp sequences)"],
    ],
    "",
  );
  const sweepValues = element("input", { type: "text", name: "sweep_values", placeholder: "1,2,4,8" });
  const upload = element("input", { type: "file", name: "dataset", accept: ".jsonl,application/jsonl" });
  const message = element("p", { role: "alert", class: "error" });
  const form = element(
    "form",
    { "aria-label": "new run" },
    fieldset("Run", radio("kind", "compare", "compare", true), radio("kind", "bench", "bench", false)),
    fieldset(
      "Targets",
      ...data.map((model) =>
        element(
          "label",
          {},
          element("input", { type: "checkbox", name: "target", value: model.id }),
          ` ${model.id} (${model.task}) `,
        ),
      ),
    ),
    fieldset(
      "Load",
      labelled("Requests per target", requests),
      radio("loop", "closed", "closed loop, in flight:", true),
      concurrency,
      " ",
      radio("loop", "open", "open loop, rate:", false),
      rate,
      " ",
      labelled("Tokens per request", maxTokens),
    ),
    fieldset(
      "Objectives (goodput: a request is good when it meets all given)",
      labelled("TTFT ≤ ms", slo.ttft_ms),
      labelled("ITL ≤ ms", slo.itl_ms),
      labelled("E2E ≤ ms", slo.e2e_ms),
    ),
    fieldset("Sweep", labelled("Vary", sweepParameter), labelled("at", sweepValues)),
    element("p", {}, labelled("Workload (JSONL, optional: the bundled one without)", upload)),
    element("button", { type: "submit" }, "Start"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    const open = form.querySelector("input[name=loop]:checked").value === "open";
    const body = {
      kind: form.querySelector("input[name=kind]:checked").value,
      targets: [...form.querySelectorAll("input[name=target]:checked")].map((box) => box.value),
      requests: Number(requests.value),
      ...(open ? { rate: Number(rate.value) } : { concurrency: Number(concurrency.value) }),
      ...(maxTokens.value && { max_tokens: Number(maxTokens.value) }),
    };
    const objectives = Object.entries(slo).filter(([, input]) => input.value !== "");
    if (objectives.length > 0)
      body.slo = Object.fromEntries(objectives.map(([name, input]) => [name, Number(input.value)]));
    if (sweepParameter.value) {
      const values = sweepValues.value.split(",").map((value) => Number(value.trim()));
      if (values.length < 2 || values.some((value) => !(value > 0))) {
        message.textContent = "sweep: give two or more positive values, separated by commas (1,2,4,8)";
        return;
      }
      body.sweep = { parameter: sweepParameter.value, values };
    }
    const file = upload.files?.[0];
    if (file) body.dataset = { jsonl: await file.text() };
    try {
      const job = await post("/ui/api/jobs", body);
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      message.textContent = error.message;
    }
  });
  view.replaceChildren(element("h1", {}, "New run"), form);
}

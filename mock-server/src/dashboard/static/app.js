// paysandbox dashboard: actions are admin API calls; pages follow GET /admin/events.
"use strict";

const flash = document.getElementById("flash");

function show(message, ok) {
  flash.hidden = false;
  flash.className = ok ? "ok" : "error";
  flash.textContent = message;
}

// The fields of a form as the JSON body its endpoint reads: empty fields are left out (the
// endpoint's defaults apply), numbers are numbers, checkboxes booleans.
function formBody(form) {
  const body = {};
  for (const input of form.querySelectorAll("input[name], select[name], textarea[name]")) {
    if (input.type === "checkbox") {
      body[input.name] = input.checked;
    } else if (input.value !== "") {
      body[input.name] = input.type === "number" ? Number(input.value) : input.value;
    }
  }
  return body;
}

async function call(method, url, body) {
  const init = { method, headers: { "Content-Type": "application/json" } };
  if (body !== undefined) init.body = JSON.stringify(body);
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    show(`${method} ${url}: ${error}`, false);
    return;
  }
  const text = await response.text();
  let answer = text;
  try {
    answer = JSON.stringify(JSON.parse(text));
  } catch (_) { /* not JSON */ }
  show(`${method} ${url} → ${response.status} ${answer}`, response.ok);
  refresh();
}

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-api]");
  if (!form) return;
  event.preventDefault();
  call(form.dataset.method || "POST", form.dataset.api, formBody(form));
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-api]");
  if (!button) return;
  event.preventDefault();
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
  call(button.dataset.method || "POST", button.dataset.api, body);
});

// Fetches the page again and swaps its <main>, keeping open details open and form values.
let timer = null;
let refreshing = false;
function refresh() {
  if (timer) return;
  timer = setTimeout(async () => {
    timer = null;
    if (refreshing) { refresh(); return; }
    refreshing = true;
    try {
      const response = await fetch(location.pathname + location.search, { headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const main = document.getElementById("main");
      const fresh = page.getElementById("main");
      if (!fresh) return;
      const open = new Set([...main.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key));
      const values = new Map([...main.querySelectorAll("[id]")]
        .filter((el) => "value" in el && el.tagName !== "BUTTON")
        .map((el) => [el.id, el.type === "checkbox" ? el.checked : el.value]));
      for (const details of fresh.querySelectorAll("details[data-key]")) {
        if (open.has(details.dataset.key)) details.open = true;
      }
      for (const [id, value] of values) {
        const el = fresh.querySelector(`#${CSS.escape(id)}`);
        if (!el) continue;
        if (el.type === "checkbox") el.checked = value; else el.value = value;
      }
      main.replaceWith(document.adoptNode(fresh));
      for (const id of ["clock-beijing"]) {
        const now = page.getElementById(id);
        if (now) document.getElementById(id).textContent = now.textContent;
      }
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
    } finally {
      refreshing = false;
    }
  }, 100);
}

const live = document.getElementById("live");
function connect() {
  const events = new EventSource("/admin/events");
  events.onopen = () => { live.dataset.state = "live"; live.textContent = "live"; };
  events.onerror = () => { live.dataset.state = "down"; live.textContent = "reconnecting…"; };
  for (const name of ["journal", "changed", "lagged"]) events.addEventListener(name, refresh);
}
connect();

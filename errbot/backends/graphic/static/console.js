// The graphic console's page: events arrive as Server-Sent Events, actions are POSTed.
// Plain DOM code on purpose: no framework and no build step, served as is by the bot.
"use strict";

const token = document.querySelector('meta[name="errbot-token"]').content;
const $ = (id) => document.getElementById(id);
const HISTORY_KEY = "errbot-graphic-history";
const PLUGIN_KEY = "errbot-graphic-plugin";

let commands = [];       // [{name, syntax, summary}] from the bot's command table
let prefix = "!";
let history = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
let historyIndex = history.length;
let selected = -1;       // highlighted completion, -1 for none

async function api(path, body) {
  const options = { headers: { "X-Errbot-Token": token } };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// -- the conversation ---------------------------------------------------------------------
function append(node) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.appendChild(node);
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function meta(event) {
  const where = event.private ? `${event.frm} → ${event.to} (private)` : `${event.frm} in ${event.to}`;
  return element("div", "meta", event.direction === "in" ? `${event.frm} → ${event.to}` : where);
}

function showMessage(event) {
  const node = element("div", `msg ${event.direction}`);
  node.appendChild(meta(event));
  if (event.direction === "in") {
    node.appendChild(document.createTextNode(event.text));
  } else {
    const body = element("div", "body");
    body.innerHTML = event.html;  // rendered and sanitised by the bot (markup.py)
    node.appendChild(body);
  }
  append(node);
}

function showCard(event) {
  const card = element("div", "card");
  if (event.color) card.style.borderLeftColor = event.color;
  card.appendChild(meta(event));
  if (event.thumbnail) {
    const thumb = element("img", "thumb");
    thumb.src = event.thumbnail;
    thumb.alt = "";
    card.appendChild(thumb);
  }
  if (event.title) {
    const title = element("div", "title");
    if (event.link) {
      const link = element("a", "", event.title);
      link.href = event.link;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      title.appendChild(link);
    } else {
      title.textContent = event.title;
    }
    card.appendChild(title);
  }
  if (event.summary) card.appendChild(element("div", "summary", event.summary));
  if (event.html) {
    const body = element("div", "body");
    body.innerHTML = event.html;
    card.appendChild(body);
  }
  if (event.fields.length) {
    const list = element("dl");
    for (const [key, value] of event.fields) {
      list.appendChild(element("dt", "", key));
      list.appendChild(element("dd", "", value));
    }
    card.appendChild(list);
  }
  if (event.image) {
    const image = element("img");
    image.src = event.image;
    image.alt = event.title || "";
    card.appendChild(image);
  }
  append(card);
}

function showFile(event) {
  const node = element("div", "file");
  node.appendChild(meta(event));
  const link = element("a", "", `⬇ ${event.name}`);
  link.href = `/files/${encodeURIComponent(event.id)}?token=${encodeURIComponent(token)}`;
  link.download = event.name;
  node.appendChild(link);
  node.appendChild(document.createTextNode(` (${event.size} bytes)`));
  append(node);
}

// -- identity -------------------------------------------------------------------------------
function showState(state) {
  prefix = state.prefix;
  const badge = $("identity");
  const place = state.room ? `in ${state.room}` : "one-on-one";
  badge.textContent = `${state.user} · ${state.admin ? "admin" : "user"} · ${place}`;
  badge.className = state.admin ? "admin" : "user";
  $("btn-admin").classList.toggle("active", state.admin);
  $("btn-user").classList.toggle("active", !state.admin);
  $("btn-room").classList.toggle("active", Boolean(state.room));
  $("btn-person").classList.toggle("active", !state.room);
  if (state.room) $("room-name").value = state.room;
  if (!state.admin) $("user-name").value = state.user;
  const rooms = $("room-list");
  rooms.replaceChildren(...state.rooms.map((name) => {
    const option = element("option");
    option.value = name;
    return option;
  }));
}

async function switchIdentity(change) {
  try {
    showState((await api("/api/identity", change)).state);
  } catch (error) {
    append(element("div", "msg out error", `Could not switch: ${error.message}`));
  }
}

// -- plugins --------------------------------------------------------------------------------
function showPlugins(plugins) {
  const select = $("plugin-select");
  const wanted = select.value || localStorage.getItem(PLUGIN_KEY);
  const mine = plugins.filter((p) => !p.core);
  const ordered = [...mine, ...plugins.filter((p) => p.core)];
  select.replaceChildren(...ordered.map((plugin) => {
    // A plugin whose code failed to load is listed too: Reload loads it once it is fixed.
    const note = !plugin.loaded ? " (not loaded)" : plugin.active ? "" : " (inactive)";
    const option = element("option", "", plugin.name + note);
    option.value = plugin.name;
    return option;
  }));
  if (wanted && ordered.some((p) => p.name === wanted)) select.value = wanted;
}

async function reloadPlugin() {
  const name = $("plugin-select").value;
  const result = $("reload-result");
  if (!name) return;
  localStorage.setItem(PLUGIN_KEY, name);
  $("reload").disabled = true;
  try {
    const outcome = await api("/api/reload", { plugin: name });
    result.className = outcome.ok ? "ok" : "error";
    result.textContent = outcome.ok ? `${name} reloaded.` : outcome.error;
    showPlugins(outcome.plugins);
    commands = outcome.commands;
  } catch (error) {
    result.className = "error";
    result.textContent = error.message;
  } finally {
    result.hidden = false;
    $("reload").disabled = false;
  }
}

// -- logs -----------------------------------------------------------------------------------
function showLog(event) {
  const line = element("div", `log ${event.level}`);
  line.dataset.level = event.levelno;
  line.appendChild(element("span", "time", `${event.time} `));
  line.appendChild(element("span", "lvl", event.level));
  line.appendChild(element("span", "logger", event.logger));
  line.appendChild(document.createTextNode(event.message));
  line.classList.toggle("hidden", event.levelno < Number($("log-level").value));
  const box = $("logs");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.appendChild(line);
  while (box.childElementCount > 2000) box.firstElementChild.remove();
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function filterLogs() {
  const lowest = Number($("log-level").value);
  for (const line of $("logs").children) {
    line.classList.toggle("hidden", Number(line.dataset.level) < lowest);
  }
}

// -- completion and history -----------------------------------------------------------------
function matches(typed) {
  if (!typed.startsWith(prefix) || typed.includes("\n")) return [];
  const lowered = typed.toLowerCase();
  // While typing the name: the names it starts; once arguments follow: that command's syntax.
  const named = commands.filter((c) => c.name.toLowerCase().startsWith(lowered));
  if (named.length) return named.slice(0, 50);
  return commands.filter((c) => lowered.startsWith(c.name.toLowerCase() + " "));
}

function renderCompletions() {
  const list = $("completions");
  const found = matches($("input").value);
  if (!found.length) {
    list.hidden = true;
    selected = -1;
    return;
  }
  selected = Math.min(selected, found.length - 1);
  list.replaceChildren(...found.map((command, index) => {
    const item = element("li", index === selected ? "selected" : "");
    item.setAttribute("role", "option");
    item.appendChild(element("span", "name", command.name));
    if (command.syntax) item.appendChild(element("span", "syntax", command.syntax));
    if (command.summary) item.appendChild(element("span", "summary", command.summary));
    item.addEventListener("mousedown", (event) => {
      event.preventDefault();
      accept(command);
    });
    return item;
  }));
  list.hidden = false;
}

function accept(command) {
  $("input").value = command.name + " ";
  selected = -1;
  renderCompletions();
  $("input").focus();
}

// The message box grows with its lines (Shift+Enter), up to a third of the window.
function fitInput() {
  const input = $("input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight + 2, window.innerHeight / 3)}px`;
}

function onKey(event) {
  const list = $("completions");
  const found = list.hidden ? [] : matches($("input").value);
  const naming = found.length && found.some((c) => c.name.length >= $("input").value.trim().length);
  // Up and Down walk the history unless they move the caret within a multi-line message.
  const oneLine = !$("input").value.includes("\n");
  if (event.isComposing) return;  // an input method is composing: its keys are its own
  if (event.key === "Tab" && naming) {
    event.preventDefault();
    accept(found[Math.max(selected, 0)]);
  } else if (event.key === "Enter" && naming && selected >= 0) {
    event.preventDefault();
    accept(found[selected]);
  } else if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();  // Enter sends; Shift+Enter starts a new line (as !ml would)
    $("composer").requestSubmit();
  } else if (event.key === "Escape") {
    list.hidden = true;
    selected = -1;
  } else if (event.key === "ArrowDown" && naming && (selected >= 0 || historyIndex === history.length)) {
    event.preventDefault();
    selected = (selected + 1) % found.length;
    renderCompletions();
  } else if (event.key === "ArrowUp" && selected > 0) {
    event.preventDefault();
    selected -= 1;
    renderCompletions();
  } else if (event.key === "ArrowUp" && oneLine && history.length) {
    event.preventDefault();
    selected = -1;
    historyIndex = Math.max(historyIndex - 1, 0);
    $("input").value = history[historyIndex];
    list.hidden = true;
    fitInput();
  } else if (event.key === "ArrowDown" && oneLine && historyIndex < history.length) {
    event.preventDefault();
    historyIndex += 1;
    $("input").value = historyIndex < history.length ? history[historyIndex] : "";
    list.hidden = true;
    fitInput();
  }
}

async function send(event) {
  event.preventDefault();
  const text = $("input").value;
  if (!text.trim()) return;
  if (history[history.length - 1] !== text) history.push(text);
  history = history.slice(-200);
  localStorage.setItem(HISTORY_KEY, JSON.stringify(history));
  historyIndex = history.length;
  $("input").value = "";
  fitInput();
  renderCompletions();
  try {
    await api("/api/send", { text });
  } catch (error) {
    append(element("div", "msg out error", `Not sent: ${error.message}`));
  }
}

// -- start ----------------------------------------------------------------------------------
function connect() {
  const source = new EventSource(`/events?token=${encodeURIComponent(token)}`);
  const handlers = { message: showMessage, card: showCard, file: showFile, state: showState,
                     log: showLog };
  source.onopen = () => { $("connection").className = "online"; };
  source.onerror = () => { $("connection").className = "offline"; };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    const handler = handlers[event.kind];
    if (handler) handler(event);
  };
}

async function start() {
  $("composer").addEventListener("submit", send);
  $("input").addEventListener("input", () => { selected = -1; fitInput(); renderCompletions(); });
  $("input").addEventListener("keydown", onKey);
  $("input").addEventListener("blur", () => { $("completions").hidden = true; });
  $("btn-admin").addEventListener("click", () => switchIdentity({ admin: true }));
  $("btn-user").addEventListener("click",
    () => switchIdentity({ admin: false, user: $("user-name").value }));
  $("btn-room").addEventListener("click", () => switchIdentity({ room: $("room-name").value }));
  $("btn-person").addEventListener("click", () => switchIdentity({ in_person: true }));
  $("reload").addEventListener("click", reloadPlugin);
  $("log-level").addEventListener("change", filterLogs);
  $("log-clear").addEventListener("click", () => $("logs").replaceChildren());
  const initial = await api("/api/state");
  commands = initial.commands;
  showState(initial.state);
  showPlugins(initial.plugins);
  connect();
  document.body.dataset.ready = "true";  // the end-to-end tests wait for this
  $("input").focus();
}

start();

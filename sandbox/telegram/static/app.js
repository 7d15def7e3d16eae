// Web chat for the Telegram emulator: renders one user's chat and acts as that user.
// Text is only ever inserted as text nodes; formatting comes from the bot's entities.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { bot: params.get("bot") || "", userId: null, name: "", seenEvents: 0, loading: false, again: false };

const TAGS = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
  blockquote: "blockquote", expandable_blockquote: "blockquote", spoiler: "span" };

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify({ ...body, bot: state.bot || undefined });
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function safeUrl(url) {
  return /^(https?:|tg:)/i.test(url || "") ? url : null;
}

function elementFor(entity) {
  if (entity.type === "text_link" || entity.type === "url") {
    const a = document.createElement("a");
    const href = safeUrl(entity.url || "");
    if (href) { a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer"; }
    return a;
  }
  const el = document.createElement(TAGS[entity.type] || "span");
  if (entity.type === "spoiler") {
    el.className = "spoiler";
    el.addEventListener("click", () => el.classList.add("shown"));
  }
  return el;
}

// Entities nest in Telegram; offsets are UTF-16 units, which is how JS strings count.
function renderRange(text, start, end, entities, parent) {
  let pos = start;
  let i = 0;
  while (i < entities.length) {
    const entity = entities[i];
    const entityEnd = Math.min(entity.offset + entity.length, end);
    let j = i + 1;
    while (j < entities.length && entities[j].offset < entityEnd) j++;
    if (entity.offset > pos) parent.append(text.slice(pos, entity.offset));
    const el = elementFor(entity);
    renderRange(text, Math.max(entity.offset, pos), entityEnd, entities.slice(i + 1, j), el);
    parent.append(el);
    pos = Math.max(pos, entityEnd);
    i = j;
  }
  if (pos < end) parent.append(text.slice(pos, end));
}

function renderText(text, entities) {
  const fragment = document.createDocumentFragment();
  const sorted = [...(entities || [])].filter((e) => e.type !== "bot_command")
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  renderRange(text, 0, text.length, sorted, fragment);
  return fragment;
}

function keyboard(message) {
  const box = document.createElement("div");
  box.className = "keyboard";
  for (const row of message.buttons) {
    const line = document.createElement("div");
    line.className = "kb-row";
    for (const button of row) {
      let el;
      if (button.url) {
        el = document.createElement("a");
        el.className = "inline-btn url";
        const href = safeUrl(button.url);
        if (href) { el.href = href; el.target = "_blank"; el.rel = "noopener noreferrer"; }
        el.addEventListener("click", () => api("POST", "/sim/open_url",
          { user_id: state.userId, label: button.text, message_id: message.id }).catch(showError));
      } else {
        el = document.createElement("button");
        el.type = "button";
        el.className = "inline-btn";
        el.addEventListener("click", () => api("POST", "/sim/callback",
          { user_id: state.userId, data: button.callback_data, message_id: message.id }).catch(showError));
      }
      el.textContent = button.text;
      line.append(el);
    }
    box.append(line);
  }
  return box;
}

function timeOf(date) {
  return new Date(date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// A voice note or audio file: a play button, a progress bar and the duration, like Telegram.
function player(media) {
  const box = document.createElement("div");
  box.className = `player ${media.kind}`;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "play";
  button.setAttribute("aria-label", `Play ${media.kind}`);
  button.textContent = "▶";
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  const time = document.createElement("span");
  time.className = "duration";
  time.textContent = clock(media.duration);
  const audio = new Audio();
  audio.preload = "none";
  audio.src = media.url;
  audio.addEventListener("timeupdate", () => {
    if (audio.duration) bar.value = audio.currentTime / audio.duration;
    time.textContent = clock(audio.currentTime || media.duration);
  });
  audio.addEventListener("play", () => { button.textContent = "❚❚"; box.classList.add("playing"); });
  const stopped = () => { button.textContent = "▶"; box.classList.remove("playing"); };
  audio.addEventListener("pause", stopped);
  audio.addEventListener("ended", () => { stopped(); bar.value = 0; time.textContent = clock(media.duration); });
  button.addEventListener("click", () => { if (audio.paused) audio.play().catch(showError); else audio.pause(); });
  box.append(button, bar, time);
  if (media.kind === "audio" && media.file_name) {
    const name = document.createElement("span");
    name.className = "file-name";
    name.textContent = media.file_name;
    box.append(name);
  }
  return box;
}

function messageRow(message) {
  const row = document.createElement("div");
  row.className = `row ${message.from}`;
  row.dataset.messageId = message.id;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const media = message.voice || message.audio;
  if (media) bubble.append(player(media));
  if (message.photo) {
    const img = document.createElement("img");
    img.className = "photo";
    img.alt = "photo";
    img.src = message.photo.url;
    bubble.append(img);
  }
  const body = document.createElement("span");
  body.className = "text";
  body.append(renderText(message.text, message.entities));
  bubble.append(body);
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = (message.edited ? "edited " : "") + timeOf(message.date);
  bubble.append(meta);
  row.append(bubble);
  if (message.buttons.length) row.append(keyboard(message));
  return row;
}

function render(chat) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren();
  if (!chat.messages.length) {
    const empty = document.createElement("div");
    empty.className = "empty";
    empty.textContent = "No messages here yet. Say /start.";
    box.append(empty);
  }
  for (const message of chat.messages) box.append(messageRow(message));
  if (atBottom || box.dataset.fresh === "1") box.scrollTop = box.scrollHeight;
  box.dataset.fresh = "0";
  const answers = chat.events.filter((e) => e.kind === "answer");
  for (const answer of answers.slice(state.seenEvents)) if (answer.text) notify(answer);
  state.seenEvents = answers.length;
}

function notify(answer) {
  if (answer.show_alert) {
    $("alert-text").textContent = answer.text;
    $("alert").hidden = false;
    return;
  }
  const toast = $("toast");
  toast.textContent = answer.text;
  toast.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { toast.hidden = true; }, 2500);
}

function showError(error) {
  notify({ text: String(error.message || error), show_alert: false });
}

// One refresh at a time; a change arriving meanwhile triggers exactly one more.
async function refresh() {
  if (state.userId === null) return;
  if (state.loading) { state.again = true; return; }
  state.loading = true;
  try {
    const query = state.bot ? `?bot=${encodeURIComponent(state.bot)}` : "";
    render(await api("GET", `/sim/chat/${state.userId}${query}`));
  } catch (error) {
    showError(error);
  } finally {
    state.loading = false;
    if (state.again) { state.again = false; refresh(); }
  }
}

function openChat() {
  state.userId = Number($("user-id").value);
  state.name = $("user-name").value.trim() || `User ${state.userId}`;
  state.seenEvents = Number.MAX_SAFE_INTEGER;
  $("messages").dataset.fresh = "1";
  const url = new URL(location.href);
  url.searchParams.set("user", state.userId);
  url.searchParams.set("name", state.name);
  if (state.bot) url.searchParams.set("bot", state.bot);
  history.replaceState(null, "", url);
  api("GET", `/sim/chat/${state.userId}${state.bot ? `?bot=${encodeURIComponent(state.bot)}` : ""}`)
    .then((chat) => { state.seenEvents = chat.events.filter((e) => e.kind === "answer").length; render(chat); })
    .catch(showError);
}

async function loadBots() {
  const info = await api("GET", "/sim/state");
  const select = $("bot");
  for (const bot of info.bots) {
    const option = document.createElement("option");
    option.value = bot.username;
    option.textContent = `@${bot.username}`;
    select.append(option);
  }
  if (!state.bot && info.bots.length) state.bot = info.bots[0].username;
  select.value = state.bot;
}

function listen() {
  const events = new EventSource("/sim/events");
  events.addEventListener("open", () => { $("status").textContent = "online"; });
  events.addEventListener("error", () => { $("status").textContent = "reconnecting…"; });
  events.addEventListener("change", (event) => {
    const changes = JSON.parse(event.data);
    if (changes.some((c) => (c.bot === state.bot && c.user_id === state.userId) || c.user_id === 0)) refresh();
  });
}

$("who").addEventListener("submit", (event) => { event.preventDefault(); openChat(); });
$("bot").addEventListener("change", () => { state.bot = $("bot").value; openChat(); });
$("alert-ok").addEventListener("click", () => { $("alert").hidden = true; });
// Tapping a https://t.me/<bot>?start=<payload> link makes Telegram send "/start <payload>";
// a pasted link, or one that opened this page (?start=...), does the same here.
function asCommand(text) {
  const link = text.trim().match(/^(?:https?:\/\/)?t\.me\/[A-Za-z0-9_]+\?start=([A-Za-z0-9_-]{1,64})$/);
  return link ? `/start ${link[1]}` : text;
}

async function sendText(text) {
  await api("POST", "/sim/message", { user_id: state.userId, text: asCommand(text), first_name: state.name });
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("text");
  const text = input.value;
  if (!text.trim() || state.userId === null) return;
  input.value = "";
  try {
    await sendText(text);
  } catch (error) {
    input.value = text;
    showError(error);
  }
});

// Recording a voice note: MediaRecorder gives WebM/Opus (Chromium) or OGG/Opus (Firefox); the
// emulator converts it to the OGG/Opus voice note Telegram would deliver to the bot.
const recorder = { media: null, chunks: [], started: 0, timer: null };

function recordingTick() {
  $("rec-time").textContent = clock((Date.now() - recorder.started) / 1000);
  $("rec-time").dataset.seconds = String(Math.floor((Date.now() - recorder.started) / 1000));
}

async function startRecording() {
  if (state.userId === null) return;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    showError(new Error(`Microphone unavailable: ${error.message || error}`));
    return;
  }
  const type = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm"]
    .find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t)) || "";
  const media = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
  recorder.media = media;
  recorder.chunks = [];
  media.addEventListener("dataavailable", (event) => { if (event.data.size) recorder.chunks.push(event.data); });
  media.addEventListener("stop", () => {
    stream.getTracks().forEach((track) => track.stop());
    sendRecording(new Blob(recorder.chunks, { type: media.mimeType || "audio/webm" })).catch(showError);
  });
  media.start(250);
  recorder.started = Date.now();
  $("rec-time").dataset.seconds = "0";
  recordingTick();
  recorder.timer = setInterval(recordingTick, 200);
  $("composer").classList.add("recording");
  $("mic").setAttribute("aria-label", "Stop and send");
  $("mic").textContent = "■";
}

function stopRecording() {
  clearInterval(recorder.timer);
  $("composer").classList.remove("recording");
  $("mic").setAttribute("aria-label", "Record a voice message");
  $("mic").textContent = "🎤";
  if (recorder.media && recorder.media.state !== "inactive") recorder.media.stop();
  recorder.media = null;
}

async function sendRecording(blob) {
  const query = new URLSearchParams({ user_id: String(state.userId), first_name: state.name });
  if (state.bot) query.set("bot", state.bot);
  const response = await fetch(`/sim/voice?${query}`, {
    method: "POST", headers: { "Content-Type": blob.type || "audio/webm" }, body: blob,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
}

$("mic").addEventListener("click", () => {
  if (recorder.media) stopRecording(); else startRecording();
});

async function followStartLink() {
  const payload = params.get("start");
  if (!payload || state.userId === null) return;
  const url = new URL(location.href);
  url.searchParams.delete("start");  // a reload must not send it twice
  history.replaceState(null, "", url);
  await sendText(`/start ${payload}`);
  refresh();  // the event stream may not be connected yet this early: don't wait for it
}

(async () => {
  if (params.get("user")) $("user-id").value = params.get("user");
  if (params.get("name")) $("user-name").value = params.get("name");
  await loadBots().catch(showError);
  listen();
  openChat();
  await followStartLink().catch(showError);
})();

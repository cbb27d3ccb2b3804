// The demo page: sign in (Cognito), mint an upload token, upload with Uppy, watch the decisions.
// Uppy is the `uppy` package's prebuilt ES module, in two majors (demo/package.json pins both as
// `uppy-5` and `uppy-6`; the local stack serves them from demo/node_modules under vendor/, no CDN).
//
// Every file goes through Uppy's AwsS3 plugin and the Companion routes under `/uploads/{token}/s3/...`
// (docs/large-uploads.md): above MULTIPART_ABOVE as an S3 multipart upload (5 MiB parts, pause/resume,
// retries), below as one presigned POST from `GET /s3/params`.
//
// - Uppy 5 (the default): the `endpoint` option (Uppy 4's too). Its requests share one queue of
//   `limit`, so a large file has several parts in flight.
// - Uppy 6 (`?uppy=6`): the `companionEndpoint` option. It sends one file's parts one after the other
//   (its own documentation: "Each file uploads its parts sequentially"); `limit` counts files.
//
// What the service says is what the page shows: the token's rules (`GET /uploads/{token}`) become
// Uppy's restrictions, so a file the service would refuse is refused before its first byte; a refusal
// shows the service's own words; a decision shows on the file's tile; a token that expires or is
// revoked stops its uploads at once and says so.
const MiB = 1024 * 1024;
const MULTIPART_ABOVE = 10 * MiB;
const UPPY_MAJOR = new URLSearchParams(location.search).get("uppy") === "6" ? "6" : "5";
const UPPY_BUNDLE = `./vendor/uppy-${UPPY_MAJOR}/uppy.min.mjs`;
const { AwsS3, Dashboard, Uppy } = await import(UPPY_BUNDLE);
document.querySelector("#uppy-css").href = `vendor/uppy-${UPPY_MAJOR}/uppy.min.css`;
document.querySelector(`#uppy-majors a[data-major="${UPPY_MAJOR}"]`).setAttribute("aria-current", "page");

const $ = (selector) => document.querySelector(selector);
const state = {
  config: null,
  idToken: null,
  token: null, // the token minted last: { token, expiresAt, ... }
  ended: null, // why it takes no more uploads: "expired" | "revoked" | "used up"
  uppy: null,
  poll: null,
  expiry: null,
  files: new Map(), // our uploadId -> Uppy's file id (to show each decision on its tile)
  refusals: [], // the service's problem documents for the uploader's requests
};

function say(message, isError = false) {
  $("#status").textContent = message;
  $("#status").classList.toggle("error", isError);
}

async function problem(response) {
  const body = await response.json().catch(() => ({}));
  const words = [body.title || body.message || response.statusText, body.detail].filter(Boolean).join(" ");
  return Object.assign(new Error(`${response.status} ${words}`), { status: response.status, problem: body });
}

// The service's refusals of the uploader's requests, kept to show in its own words: Uppy 6 reports a
// Companion route's refusal by its status text only ("Companion request failed: Bad Request").
const nativeFetch = window.fetch.bind(window);
window.fetch = async (input, init) => {
  const response = await nativeFetch(input, init);
  const url = typeof input === "string" ? input : input.url;
  if (!response.ok && state.config && url.startsWith(`${state.config.apiUrl}/uploads/`)) {
    const body = await response.clone().json().catch(() => null);
    if (body?.title) state.refusals.push({ url: decodeURIComponent(url), sent: String(init?.body ?? ""), body });
    // The uploader is the first to hear that its token ended (revoked elsewhere, expired): before
    // Uppy sees the answer, the page stops the token's uploads and says why, in the service's words.
    const ended = response.status === 404 && body?.title?.match(/^The upload token (was revoked|expired|has ended)/);
    if (ended) tokenEnded(ended[1] === "was revoked" ? "revoked" : "expired", body.title);
  }
  return response;
};

function refusalOf(file) {
  const about = (refusal) =>
    refusal.url.includes(`/${file.name}`) ||
    refusal.url.includes(`filename=${file.name}`) ||
    refusal.sent.includes(JSON.stringify(file.name));
  const found = state.refusals.findLast(about);
  return found && [found.body.title, found.body.detail].filter(Boolean).join(" ");
}

// 1. Sign in: Cognito's InitiateAuth, exactly as against AWS (unsigned, USER_PASSWORD_AUTH).
async function signIn(username, password) {
  const response = await fetch(state.config.awsEndpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
    },
    body: JSON.stringify({
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: state.config.userPoolClientId,
      AuthParameters: { USERNAME: username, PASSWORD: password },
    }),
  });
  if (!response.ok) throw await problem(response);
  const answer = await response.json();
  // A user an administrator created must set a password first (Cognito's NEW_PASSWORD_REQUIRED):
  // `aws cognito-idp admin-set-user-password --permanent` does it (docs/deploying.md).
  if (!answer.AuthenticationResult) throw new Error(`Cognito asks for ${answer.ChallengeName}: give the user a permanent password`);
  return answer.AuthenticationResult.IdToken;
}

async function api(method, path, body, auth = true) {
  const headers = { "Content-Type": "application/json" };
  if (auth) headers.Authorization = `Bearer ${state.idToken}`;
  const response = await fetch(`${state.config.apiUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await problem(response);
  return response.status === 204 ? null : response.json();
}

// 3. The uploader for a token: the plugin's options, as docs/large-uploads.md shows them, and the
// token's rules as its restrictions.
const shouldUseMultipart = (file) => file.size > MULTIPART_ABOVE;

function useUploader(uppy, token) {
  const endpoint = `${state.config.apiUrl}/uploads/${encodeURIComponent(token)}`;
  if (UPPY_MAJOR === "6") {
    uppy.use(AwsS3, { companionEndpoint: endpoint, shouldUseMultipart, limit: 4 });
    return `Uppy 6: multipart above ${MULTIPART_ABOVE / MiB} MiB, a file's parts one at a time, 4 files at once`;
  }
  const signPart = (file, options) => signPartWithChecksum(endpoint, file, options);
  uppy.use(AwsS3, { endpoint, shouldUseMultipart, limit: 6, ...(crypto.subtle ? { signPart } : {}) });
  return `Uppy 5: multipart above ${MULTIPART_ABOVE / MiB} MiB, up to 6 parts in flight`;
}

// Checksums (docs/http-api.md#checksums), computed here with Web Crypto (only in a secure context:
// https, localhost or 127.0.0.1; elsewhere files go without). A small file's SHA-256 goes in its meta
// (`checksumSha256`: Uppy sends it to `/s3/params` as `metadata[checksumSha256]`), and S3 refuses
// other bytes. A multipart upload (Uppy 5) starts with `checksumAlgorithm: SHA256` and each part is
// signed with its own SHA-256 (`signPart`, which Uppy hands the part's bytes); Uppy sends the answer's
// `headers` with the part's PUT. Uppy 6's Companion client sends no headers with a part: its multipart
// uploads go without.
async function sha256Base64(blob) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
  return btoa(String.fromCharCode(...digest));
}

function showChecksum(fileName, what, checksum) {
  const item = document.createElement("li");
  item.dataset.fileName = fileName;
  item.dataset.what = what;
  item.dataset.checksum = checksum;
  item.append(`${fileName}, ${what}: `, Object.assign(document.createElement("code"), { textContent: checksum }));
  $("#checksums").append(item);
  $("#checksums-step").hidden = false;
}

async function withChecksums(uppy, fileIDs) {
  if (!crypto.subtle) return;
  for (const id of fileIDs) {
    const file = uppy.getFile(id);
    if (!file || file.meta.checksumSha256 || file.meta.checksumAlgorithm) continue; // a retry: done
    if (!shouldUseMultipart(file)) {
      const checksum = await sha256Base64(file.data);
      uppy.setFileMeta(id, { checksumSha256: checksum });
      showChecksum(file.name, "whole file", checksum);
    } else if (UPPY_MAJOR === "5") {
      uppy.setFileMeta(id, { checksumAlgorithm: "SHA256" });
    }
  }
}

async function signPartWithChecksum(endpoint, file, { uploadId, key, partNumber, body, signal }) {
  const checksum = await sha256Base64(body);
  const query = new URLSearchParams({ key, checksumSha256: checksum });
  const url = `${endpoint}/s3/multipart/${encodeURIComponent(uploadId)}/${partNumber}?${query}`;
  const response = await fetch(url, { signal });
  if (!response.ok) throw await problem(response);
  showChecksum(file.name, `part ${partNumber}`, checksum);
  return response.json(); // {url, expires, headers: {"x-amz-checksum-sha256": ...}}
}

function bytes(size) {
  return size >= MiB ? `${Math.round((size / MiB) * 10) / 10} MiB` : `${size} bytes`;
}

function startUppy(token, rules) {
  state.uppy?.destroy();
  state.files.clear();
  state.refusals = [];
  $("#checksums").replaceChildren();
  $("#checksums-step").hidden = true;
  const uppy = new Uppy({
    id: "demo",
    autoProceed: false,
    restrictions: {
      maxFileSize: rules.maxFileSize,
      allowedFileTypes: rules.allowedContentTypes,
      maxNumberOfFiles: rules.uploadsLeft,
    },
  });
  uppy.use(Dashboard, {
    inline: true,
    target: "#dashboard",
    height: 360,
    width: "100%",
    showProgressDetails: true,
    proudlyDisplayPoweredByUppy: false,
    // Uppy retries a failed request itself; a file that still fails, or that the service rejected,
    // would only fail again: no retry button (a rejected file's tile says why instead).
    hideRetryButton: true,
    note: `${rules.allowedContentTypes.join(", ")}; up to ${bytes(rules.maxFileSize)} each, ${rules.uploadsLeft} files`,
  });
  $("#upload-mode").textContent = useUploader(uppy, token);
  // Uppy sends no file size of its own; in its meta, the routes take it as the declared size (a file
  // over the limit is refused before its first byte, and the page shows its size while it is sent).
  uppy.on("file-added", (file) => uppy.setFileMeta(file.id, { size: file.size }));
  uppy.addPreProcessor((fileIDs) => withChecksums(uppy, fileIDs));
  uppy.on("restriction-failed", (file, error) => say(`${file?.name ?? "A file"}: ${error.message}`, true));
  uppy.on("upload-success", (file, response) => {
    // our key is uploads/<uploadId>/<name>: in the answer's `key` (Uppy 6), or its URL (Uppy 5)
    const where = response?.body?.key ?? response?.uploadURL ?? "";
    const uploadId = where.match(/uploads\/([0-9a-f]{32})\//)?.[1];
    if (uploadId) state.files.set(uploadId, file.id);
  });
  uppy.on("upload-error", (file, error) => {
    const words = refusalOf(file) ?? error.message;
    if (file && uppy.getFile(file.id)) uppy.setFileState(file.id, { error: words });
    say(`${file?.name}: ${words}`, true);
  });
  uppy.on("complete", (result) => {
    if (state.ended) return; // the token's end says more than the count
    const failed = result.failed.map((file) => `${file.name}: ${uppy.getFile(file.id)?.error ?? file.error}`);
    say([`Sent ${result.successful.length}, failed ${result.failed.length}.`, ...failed].join(" "), failed.length > 0);
  });
  state.uppy = uppy;
  window.uppy = uppy; // for the browser test (tests/browser/test_demo_page.py) and the console
}

// A token that ends stops its uploads at once: what is on its way is removed from the uploader (its
// requests aborted), what was sent keeps its tile and decision, and nothing more can be added.
function tokenEnded(why, message) {
  if (state.ended) return;
  state.ended = why;
  clearTimeout(state.expiry);
  const stopped = (state.uppy?.getFiles() ?? []).filter((file) => !file.progress.uploadComplete);
  for (const file of stopped) state.uppy.removeFile(file.id);
  state.uppy?.getPlugin("Dashboard")?.setOptions({ disabled: true });
  $("#token-status").textContent = message;
  $("#token").classList.add("error");
  $("#revoke-button").disabled = true;
  const names = stopped.map((file) => file.name).join(", ");
  say(`${message}${names ? ` Stopped: ${names}.` : ""} Mint a new token to upload more.`, true);
}

// Requests Uppy had in flight for a token that has ended fail as they should; Uppy 5 leaves some of
// those failures unhandled once their file is gone. They are expected: nothing for the console.
window.addEventListener("unhandledrejection", (event) => {
  if (state.ended) event.preventDefault();
});

// 4. What the service decided, polled.
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

// What the landing found of the file: "mp4 2s 160×120 h264/aac" (an image: "png 64×64").
function describeMedia(media) {
  if (!media) return "";
  const size = media.width && media.height ? `${media.width}×${media.height}` : null;
  const duration = media.durationSeconds == null ? null : `${media.durationSeconds}s`;
  const codecs = [media.videoCodec, media.audioCodec].filter(Boolean).join("/");
  return [media.container, duration, size, codecs].filter(Boolean).join(" ");
}

function showDecisionOnTile(upload) {
  const fileId = state.files.get(upload.uploadId);
  if (!fileId || !state.uppy?.getFile(fileId) || !["REJECTED", "EXPIRED"].includes(upload.status)) return;
  const words = `${upload.status}: ${upload.reason}`;
  if (state.uppy.getFile(fileId).error !== words) state.uppy.setFileState(fileId, { error: words });
}

function render(view) {
  const rows = view.uploads.map((upload) => {
    showDecisionOnTile(upload);
    const tr = document.createElement("tr");
    tr.dataset.uploadId = upload.uploadId;
    tr.dataset.fileName = upload.fileName;
    tr.dataset.status = upload.status;
    const forwarding = upload.forwarding;
    const forwarded = forwarding
      ? [forwarding.status, forwarding.videoId || forwarding.error].filter(Boolean).join(" ")
      : "";
    const forwardingCell = cell(forwarded, "forwarding");
    if (forwarding) forwardingCell.dataset.status = forwarding.status;
    const waiting =
      upload.status === "PENDING" && state.ended === "expired"
        ? "its target ended with the token: the cleanup will mark it EXPIRED"
        : upload.reason;
    tr.append(
      cell(upload.fileName),
      cell(`${upload.fileSize} B`),
      cell(upload.contentType),
      cell(upload.detectedType),
      cell(describeMedia(upload.media), "media"),
      cell(upload.status, "status"),
      cell(waiting, "reason"),
      forwardingCell,
      cell(upload.checksumSha256, "checksum"),
    );
    return tr;
  });
  $("#decisions tbody").replaceChildren(...rows);
}

async function poll() {
  const token = state.token.token;
  try {
    const view = await api("GET", `/upload-tokens/${encodeURIComponent(token)}`);
    if (token !== state.token.token) return; // a newer token was minted meanwhile
    if (view.status === "TIMED_OUT") tokenEnded("expired", `The upload token expired at ${view.expiresAt}.`);
    if (view.status === "FULL_UPLOAD") tokenEnded("used up", "The upload token took every upload it allows.");
    render(view);
  } catch (error) {
    if (error.status === 404) {
      // A revoked token is gone from the API at once (its open uploads are REJECTED, "token revoked").
      clearInterval(state.poll);
      tokenEnded("revoked", "The upload token was revoked.");
      $("#decisions").dataset.stale = "revoked";
      $("#decisions").createCaption().textContent =
        "As last seen before the token was revoked: the service has since rejected its open uploads (token revoked).";
      return;
    }
    say(`Polling the token failed: ${error.message}`, true);
  }
}

function showToken(minted) {
  state.token = minted;
  state.ended = null;
  $("#token-value").value = minted.token;
  $("#token-status").textContent = minted.expiresAt ? `Expires at ${minted.expiresAt}.` : "Never expires.";
  $("#token").hidden = false;
  $("#token").classList.remove("error");
  $("#revoke-button").disabled = false;
  delete $("#decisions").dataset.stale;
  $("#decisions").deleteCaption();
  clearTimeout(state.expiry);
  if (minted.expiresAt) {
    const left = Date.parse(minted.expiresAt) - Date.now();
    state.expiry = setTimeout(() => tokenEnded("expired", `The upload token expired at ${minted.expiresAt}.`), left);
  }
}

async function mint() {
  const minted = await api("POST", "/upload-tokens", { ttl: Number($("#ttl").value) });
  const rules = await api("GET", `/uploads/${encodeURIComponent(minted.token)}`, undefined, false);
  showToken(minted);
  startUppy(minted.token, rules);
  say("Token minted. Drop files on the dashboard, then upload.");
  clearInterval(state.poll);
  state.poll = setInterval(poll, 1000);
  await poll();
}

async function revoke() {
  await api("DELETE", `/upload-tokens/${encodeURIComponent(state.token.token)}`);
  clearInterval(state.poll);
  tokenEnded("revoked", "You revoked the upload token.");
}

async function copyToken() {
  $("#token-value").select(); // selected too, for browsers that refuse the clipboard
  await navigator.clipboard.writeText(state.token.token);
  say("The whole token is on the clipboard.");
}

async function main() {
  try {
    state.config = await (await fetch("config.json")).json();
  } catch (error) {
    say(`Could not read config.json: ${error.message}`, true);
    return;
  }
  const users = state.config.users ?? []; // a deployed stack's config.json may name none
  for (const user of users) {
    $("#usernames").append(new Option(user.username, user.username));
  }
  // A name the person typed while config.json was on its way stays.
  if (!$("#username").value) $("#username").value = users[0]?.username ?? "";
  const fillPassword = () => {
    // The local stack's demo users come with their passwords; anyone else types their own.
    const user = users.find((u) => u.username === $("#username").value);
    if (user?.password) $("#password").value = user.password;
  };
  $("#username").addEventListener("input", fillPassword);
  fillPassword();

  $("#signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      state.idToken = await signIn($("#username").value, $("#password").value);
      $("#signed-in").textContent = `Signed in as ${$("#username").value}.`;
      $("#signed-in").hidden = false;
      $("#mint-button").disabled = false;
      say("Signed in. Mint a token.");
    } catch (error) {
      say(`Sign-in failed: ${error.message}`, true);
    }
  });

  $("#mint").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await mint();
    } catch (error) {
      say(`Minting failed: ${error.message}`, true);
    }
  });
  const act = (action, what) => async () => {
    try {
      await action();
    } catch (error) {
      say(`${what} failed: ${error.message}`, true);
    }
  };
  $("#revoke-button").addEventListener("click", act(revoke, "Revoking"));
  $("#copy-button").addEventListener("click", act(copyToken, "Copying"));
  say(`Sign in (API ${state.config.apiUrl}).`);
  document.body.dataset.ready = "true"; // every control works from here on
}

main();

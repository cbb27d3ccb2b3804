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
const MiB = 1024 * 1024;
const MULTIPART_ABOVE = 10 * MiB;
const UPPY_MAJOR = new URLSearchParams(location.search).get("uppy") === "6" ? "6" : "5";
const UPPY_BUNDLE = `./vendor/uppy-${UPPY_MAJOR}/uppy.min.mjs`;
const { AwsS3, Dashboard, Uppy } = await import(UPPY_BUNDLE);
document.querySelector("#uppy-css").href = `vendor/uppy-${UPPY_MAJOR}/uppy.min.css`;
document.querySelector(`#uppy-majors a[data-major="${UPPY_MAJOR}"]`).setAttribute("aria-current", "page");

const $ = (selector) => document.querySelector(selector);
const state = { config: null, idToken: null, token: null, uppy: null, poll: null };

function say(message, isError = false) {
  $("#status").textContent = message;
  $("#status").classList.toggle("error", isError);
}

async function problem(response) {
  const body = await response.json().catch(() => ({}));
  return Object.assign(new Error(`${response.status} ${body.title || body.message || response.statusText}`), {
    status: response.status,
  });
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
  return response.json();
}

// 3. The uploader for a token: the plugin's options, as docs/large-uploads.md shows them.
function useUploader(uppy, token) {
  const endpoint = `${state.config.apiUrl}/uploads/${encodeURIComponent(token)}`;
  const shouldUseMultipart = (file) => file.size > MULTIPART_ABOVE;
  if (UPPY_MAJOR === "6") {
    uppy.use(AwsS3, { companionEndpoint: endpoint, shouldUseMultipart, limit: 4 });
    return `Uppy 6: multipart above ${MULTIPART_ABOVE / MiB} MiB, a file's parts one at a time, 4 files at once`;
  }
  uppy.use(AwsS3, { endpoint, shouldUseMultipart, limit: 6 });
  return `Uppy 5: multipart above ${MULTIPART_ABOVE / MiB} MiB, up to 6 parts in flight`;
}

function startUppy(token) {
  state.uppy?.destroy();
  const uppy = new Uppy({ id: "demo", autoProceed: false });
  uppy.use(Dashboard, {
    inline: true,
    target: "#dashboard",
    height: 360,
    width: "100%",
    showProgressDetails: true,
    proudlyDisplayPoweredByUppy: false,
    note: "mp4, mov, webm, jpeg or png; checked when it lands",
  });
  $("#upload-mode").textContent = useUploader(uppy, token);
  // Uppy sends no file size of its own; in its meta, the routes take it as the declared size (a file
  // over the limit is refused before its first byte, and the page shows its size while it is sent).
  uppy.on("file-added", (file) => uppy.setFileMeta(file.id, { size: file.size }));
  uppy.on("complete", (result) => {
    const failed = result.failed.map((file) => `${file.name}: ${file.error}`);
    say([`Sent ${result.successful.length}, failed ${result.failed.length}.`, ...failed].join(" "), failed.length > 0);
  });
  uppy.on("upload-error", (file, error) => say(`${file.name}: ${error.message}`, true));
  state.uppy = uppy;
  window.uppy = uppy; // for the browser test (tests/browser/test_demo_page.py) and the console
}

// 4. What the service decided, polled.
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

function render(view) {
  const rows = view.uploads.map((upload) => {
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
    tr.append(
      cell(upload.fileName),
      cell(`${upload.fileSize} B`),
      cell(upload.contentType),
      cell(upload.detectedType),
      cell(upload.status, "status"),
      cell(upload.reason, "reason"),
      forwardingCell,
    );
    return tr;
  });
  $("#decisions tbody").replaceChildren(...rows);
}

async function poll() {
  try {
    render(await api("GET", `/upload-tokens/${encodeURIComponent(state.token)}`));
  } catch (error) {
    if (error.status === 404) {
      // A revoked token is gone from the API at once (its open uploads are REJECTED, "token revoked").
      clearInterval(state.poll);
      $("#token").textContent += " Revoked: the service refuses its uploads.";
      $("#token").classList.add("error");
      $("#decisions").dataset.stale = "revoked";
      $("#decisions").createCaption().textContent =
        "As last seen before the token was revoked: the service has since rejected its open uploads (token revoked).";
      return;
    }
    say(`Polling the token failed: ${error.message}`, true);
  }
}

async function main() {
  try {
    state.config = await (await fetch("config.json")).json();
  } catch (error) {
    say(`Could not read config.json: ${error.message}`, true);
    return;
  }
  for (const user of state.config.users ?? []) {
    $("#username").append(new Option(user.username, user.username));
  }
  const fillPassword = () => {
    // The local stack's demo users come with their passwords; a deployed stack's config.json names
    // users only, and the person signing in types the password.
    const user = (state.config.users ?? []).find((u) => u.username === $("#username").value);
    $("#password").value = user?.password ?? "";
  };
  $("#username").addEventListener("change", fillPassword);
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
      const minted = await api("POST", "/upload-tokens", { ttl: Number($("#ttl").value) });
      state.token = minted.token;
      $("#token").textContent = `Token ${minted.token.slice(0, 6)}… expires ${minted.expiresAt}.`;
      $("#token").hidden = false;
      $("#token").classList.remove("error");
      delete $("#decisions").dataset.stale;
      $("#decisions").deleteCaption();
      startUppy(minted.token);
      clearInterval(state.poll);
      state.poll = setInterval(poll, 1000);
      await poll();
      say("Token minted. Drop files on the dashboard, then upload.");
    } catch (error) {
      say(`Minting failed: ${error.message}`, true);
    }
  });
  say(`Sign in (API ${state.config.apiUrl}).`);
}

main();

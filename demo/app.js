// The demo page: sign in (Cognito), mint an upload token, upload with Uppy, watch the decisions.
// Uppy is the `uppy` package's prebuilt ES module (demo/package.json pins it; the local stack
// serves it from demo/node_modules under vendor/, no CDN).
import { AwsS3, Dashboard, Uppy, XHRUpload } from "./vendor/uppy.min.mjs";

const MiB = 1024 * 1024;

// Every file goes through Uppy's AwsS3 plugin and the Companion routes under `/uploads/{token}/s3/...`
// (issue 12, docs/large-uploads.md): above MULTIPART_ABOVE as an S3 multipart upload (5 MiB parts,
// pause/resume, resumed from the parts S3 holds), below as one presigned POST from `GET /s3/params`.
// `false` falls back to `POST /upload?token=` and XHRUpload (one POST per file, no resume), for a
// deployment without the multipart routes.
const MULTIPART_ROUTES = true;
const MULTIPART_ABOVE = 10 * MiB;

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
  return (await response.json()).AuthenticationResult.IdToken;
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

// 3. The uploader for a token.
function useUploader(uppy, token) {
  if (MULTIPART_ROUTES) {
    uppy.use(AwsS3, {
      companionEndpoint: `${state.config.apiUrl}/uploads/${encodeURIComponent(token)}`,
      shouldUseMultipart: (file) => file.size > MULTIPART_ABOVE,
      limit: 4, // files at once (Uppy 6 sends one file's parts one after the other)
    });
    return `Companion routes: S3 multipart above ${MULTIPART_ABOVE / MiB} MiB (pause/resume), one presigned POST below`;
  }
  // Uppy 6's AwsS3 plugin has no hook for a target of our own (no `getUploadParameters`), so the
  // presigned POST is sent by XHRUpload: a pre-processor asks `POST /upload?token=` for each file's
  // target, then its fields (in order, nothing else) and the file go to S3 as multipart/form-data.
  uppy.addPreProcessor(async (fileIDs) => {
    for (const id of fileIDs) {
      const file = uppy.getFile(id);
      try {
        const target = await api(
          "POST",
          `/upload?token=${encodeURIComponent(token)}`,
          { fileName: file.name, fileSize: file.size, contentType: file.type || "application/octet-stream" },
          false,
        );
        uppy.setFileMeta(id, { ...target.fields, uploadId: target.uploadId });
        uppy.setFileState(id, {
          xhrUpload: { endpoint: target.url, allowedMetaFields: Object.keys(target.fields) },
        });
      } catch (error) {
        uppy.emit("upload-error", file, error);  // this file only; the others go on
      }
    }
  });
  uppy.use(XHRUpload, { fieldName: "file", getResponseData: () => ({}), limit: 4 });
  return "one presigned POST per file (POST /upload?token=)";
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
  for (const user of state.config.users) {
    $("#username").append(new Option(user.username, user.username));
  }
  const fillPassword = () => {
    const user = state.config.users.find((u) => u.username === $("#username").value);
    $("#password").value = user ? user.password : "";
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
      startUppy(minted.token);
      clearInterval(state.poll);
      state.poll = setInterval(poll, 1000);
      await poll();
      say("Token minted. Drop files on the dashboard, then upload.");
    } catch (error) {
      say(`Minting failed: ${error.message}`, true);
    }
  });
  say("Sign in as a demo user.");
}

main();

"""A local double of api.video's API, for `make dev` and the tests (DESIGN.md §5).

It speaks api.video's wire format: `POST /auth/api-key` and `/auth/refresh` (bearer tokens that
expire), the four `/upload-tokens` routes, `POST /videos` (an empty video: title, metadata, tags)
and `GET /videos` (filters `title`, `description`, `tags[]`, `metadata[key]=value`; `{data,
pagination}`), `POST /upload?token=` (multipart/form-data, whole or in chunks: `Content-Range:
bytes first-last/total` or `part N/M` / `part N/*`, later chunks naming the `videoId` the first
returned, or every chunk naming a video made by `POST /videos`), `GET /videos/{videoId}` and
`/status`, problem documents and the `X-RateLimit-*` headers with 429s past a per-minute limit.
For tests it also serves the assembled bytes (`GET /videos/{videoId}/source`), scripted faults and
counters (`/_double/...`, see control.py).

Assumptions where api.video's docs are silent:
- An upload token belongs to the project, not to a video: a chunked upload may go on with another
  live upload token of the same project (our forwarder mints a fresh one per attempt and deletes it
  after), so the double checks only that each request's token is live.
- A wrong or expired upload token is a 400 (api.video documents only 201 and 400 for `POST /upload`).
- Each accepted upload request is answered 201 with the Video (a superset of the `{"videoId"}` the
  progressive clients read); `POST /videos` too (api.video documents 201).
- `GET /videos` sorts by `createdAt` ascending when no `sortBy` is given.

Where it is stricter than api.video: a chunk after the first without `videoId` is refused (400,
`name: videoId`); api.video would start another video with it, which is never complete.
"""

from local_stack.video_double.server import VideoDouble
from local_stack.video_double.traffic import Fault

__all__ = ["Fault", "VideoDouble"]

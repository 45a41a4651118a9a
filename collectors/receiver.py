"""OTLP/HTTP trace receiver: a thin HTTP shell around the pure decoder in `otlp.py`.

It enforces the transport rules of the OTLP specification — content types, gzip, size caps
(also after decompression, so a gzip bomb cannot exhaust memory), optional bearer token — and
maps outcomes to status codes. A 200 is sent only after the spans are committed to the store;
a full write path answers 503 with Retry-After, which OTLP exporters retry.
"""

from __future__ import annotations

import hmac
import logging
import zlib
from dataclasses import dataclass
from typing import Callable

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collectors.errors import BadRequest
from collectors.otlp import DecodedTraces, decode_traces
from models.batches import Batch, LoadResult
from models.write_queue import Saturated

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class ReceiverConfig:
    max_request_bytes: int = 16 * 1024 * 1024   # applies to the body as sent and as decompressed
    token: str | None = None                    # bearer token required when set


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def traces_route(submit: Callable[[Batch], LoadResult], config: ReceiverConfig = ReceiverConfig(),
                 decode: Callable[[bytes, str], DecodedTraces] = decode_traces) -> Route:
    """The `POST /v1/traces` route; `submit` commits a batch and returns its load result.
    `decode` turns a body into spans: `decode_traces` here, or a `DecodingPool`'s in workers."""

    async def export(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        reply_type = JSON if content_type == JSON else PROTOBUF
        try:
            _check_token(request, config)
            if content_type not in (PROTOBUF, JSON):
                raise HttpError(415, f"unsupported content type {content_type or '(none)'!r}; "
                                     f"send {PROTOBUF} or {JSON}")
            body = await _read_body(request, config.max_request_bytes)
            decoded = await run_in_threadpool(decode, body, content_type)
            await run_in_threadpool(submit, decoded.batch)
        except HttpError as exc:
            return _status(exc.status, exc.message, reply_type, exc.headers)
        except BadRequest as exc:
            return _status(400, str(exc), reply_type)
        except Saturated as exc:
            return _status(503, str(exc), reply_type, {"Retry-After": str(exc.retry_after)})
        except Exception:   # nothing was committed; the exporter may retry
            log.exception("could not commit OTLP request")
            return _status(503, "the store could not commit this request; retry later", reply_type,
                           {"Retry-After": "5"})
        reply = ExportTraceServiceResponse()
        if decoded.rejected:
            reply.partial_success.rejected_spans = decoded.rejected
            reply.partial_success.error_message = decoded.message
        return _encode(reply, reply_type, 200)

    return Route(TRACES_PATH, export, methods=["POST"])


def _check_token(request: Request, config: ReceiverConfig) -> None:
    if config.token is None:
        return
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {config.token}".encode()):
        raise HttpError(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HttpError(413, f"request body of {int(declared):,} bytes exceeds the limit of {limit:,}")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise HttpError(415, f"unsupported content encoding {encoding!r}; send gzip or identity")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    raw = out = 0
    parts = []
    async for chunk in request.stream():
        raw += len(chunk)
        if raw > limit:
            raise HttpError(413, f"request body exceeds the limit of {limit:,} bytes")
        if inflater is None:
            parts.append(chunk)
            continue
        try:
            # max_length bounds what one chunk may inflate to: a gzip bomb stops at the limit.
            piece = inflater.decompress(inflater.unconsumed_tail + chunk, limit - out + 1)
        except zlib.error as exc:
            raise HttpError(400, f"body is not valid gzip: {exc}") from None
        out += len(piece)
        if out > limit or inflater.unconsumed_tail:
            raise HttpError(413, f"decompressed body exceeds the limit of {limit:,} bytes")
        parts.append(piece)
    if inflater is not None and not inflater.eof:
        raise HttpError(400, "gzip body is truncated")
    return b"".join(parts)


def _status(code: int, message: str, reply_type: str, headers: dict | None = None) -> Response:
    # OTLP error bodies are a google.rpc.Status; its `code` is the gRPC code, which the
    # exporters do not act on: the HTTP status is what they read.
    from google.rpc.status_pb2 import Status

    return _encode(Status(message=message), reply_type, code, headers)


def _encode(message, reply_type: str, status: int, headers: dict | None = None) -> Response:
    if reply_type == JSON:
        body = json_format.MessageToJson(message, indent=None).encode()
    else:
        body = message.SerializeToString()
    return Response(body, status_code=status, media_type=reply_type, headers=headers)

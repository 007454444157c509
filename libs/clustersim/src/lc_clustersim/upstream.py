"""A simulated OpenAI-compatible inference server on a loopback port.

Who calls it: the simulated engine (`lc_clustersim.engine`) starts one per Ready Model
replica; the proxy's tests and benchmarks start them directly as upstreams:

    upstream = SimulatedUpstream(models=["llama-3-8b"])
    await upstream.start()            # binds 127.0.0.1 on a free port
    ...  # point a client at f"{upstream.url}/v1"
    await upstream.stop()

What it owns: the OpenAI wire format the platform relies on — `/v1/models`,
`/v1/models/{id}`, `/v1/chat/completions` and `/v1/completions` (JSON, or SSE with
`data: [DONE]` and `stream_options.include_usage`), `/v1/embeddings` (deterministic
vectors derived from a hash of the input, `float` or `base64` float32), `usage` token
counts, and OpenAI-shaped errors. Only the endpoints it was started with are served; the
others answer 404 with code `endpoint_not_enabled`.

Fault knobs on a running server (`UpstreamFaults`): latency before the first byte, a
per-token delay while streaming, an error rate (500 `server_error`), killing every open
stream at once (`kill_open_streams`) and killing future streams after N chunks. Its
`stats` count requests, in-flight requests and requests whose client went away (aborted),
so a test can assert that a proxy cancelled its upstream call.

The reply text is generated, not inferred: a fixed vocabulary cycled from a seed taken
from the prompt, so the same request gets the same answer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import re
import struct
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from lc_contracts.specs import ENDPOINT_PATHS, Endpoint

CHAT_COMPLETIONS: Final = Endpoint.CHAT_COMPLETIONS
COMPLETIONS: Final = Endpoint.COMPLETIONS
EMBEDDINGS: Final = Endpoint.EMBEDDINGS
ALL_ENDPOINTS: Final = tuple(Endpoint)

DEFAULT_MAX_TOKENS: Final = 16
DEFAULT_EMBEDDING_DIMENSIONS: Final = 32
_VOCABULARY: Final = tuple(
    [
        "The",
        "simulated",
        "engine",
        "answers",
        "every",
        "prompt",
        "with",
        "plain",
        "words",
        "so",
        "that",
        "clients",
        "proxies",
        "and",
        "benchmarks",
        "can",
        "count",
        "tokens",
        "stream",
        "chunks",
        "and",
        "measure",
        "latency",
        "without",
        "a",
        "GPU",
        ".",
    ]
)
_TOKEN_RE: Final = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """A rough tokenizer: words and punctuation marks each count as one token."""
    return len(_TOKEN_RE.findall(text))


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector derived from the SHA-256 of `text`."""
    raw = bytearray()
    counter = 0
    seed = text.encode()
    while len(raw) < dimensions * 4:
        raw += hashlib.sha256(seed + counter.to_bytes(4, "little")).digest()
        counter += 1
    ints = struct.unpack(f"<{dimensions}I", bytes(raw[: dimensions * 4]))
    values = [(i / 0xFFFFFFFF) * 2.0 - 1.0 for i in ints]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [v / norm for v in values]


def openai_error(
    status: int, message: str, *, type_: str, code: str | None, param: str | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return web.json_response(body, status=status)


@dataclass
class UpstreamFaults:
    """Faults a test or the admin API can switch on while the server runs."""

    latency_s: float = 0.0
    """Delay before any byte of a response is sent."""
    token_delay_s: float = 0.0
    """Delay between streamed chunks (makes a stream last long enough to cancel)."""
    error_rate: float = 0.0
    """Fraction (0..1) of requests answered 500 `server_error` instead."""
    kill_after_chunks: int | None = None
    """Close the connection of every new stream after this many chunks, if set."""


@dataclass
class UpstreamStats:
    """Counters a test asserts on. `aborted` counts requests whose client went away."""

    requests: int = 0
    in_flight: int = 0
    completed: int = 0
    aborted: int = 0
    errors_injected: int = 0
    streams_killed: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class ReceivedRequest:
    """What a client sent, kept for assertions (the last 100 requests)."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


class _StreamKilled(Exception):
    pass


class SimulatedUpstream:
    """An OpenAI-compatible server for `models`, serving only `endpoints`."""

    def __init__(
        self,
        models: Sequence[str] = ("sim-model",),
        endpoints: Iterable[str] = ALL_ENDPOINTS,
        *,
        faults: UpstreamFaults | None = None,
        name: str = "upstream",
        seed: int = 0,
    ) -> None:
        unknown = set(endpoints) - set(ALL_ENDPOINTS)
        if unknown:
            raise ValueError(f"unknown endpoints {sorted(unknown)}; use {list(ALL_ENDPOINTS)}")
        self.models = list(models)
        self.endpoints = frozenset(endpoints)
        self.faults = faults or UpstreamFaults()
        self.stats = UpstreamStats()
        self.name = name
        self.received: deque[ReceivedRequest] = deque(maxlen=100)
        self._random = random.Random(seed)
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._stopping = False
        self._kill_generation = 0
        self._created = int(time.time())

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model_id:.+}", self._get_model)
        app.router.add_post(ENDPOINT_PATHS[CHAT_COMPLETIONS], self._chat_completions)
        app.router.add_post(ENDPOINT_PATHS[COMPLETIONS], self._completions)
        app.router.add_post(ENDPOINT_PATHS[EMBEDDINGS], self._embeddings)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # handler_cancellation: a client that goes away cancels its handler, which is how
        # `stats.aborted` sees a proxy cancel its upstream call.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._host = host
        self._port = sockets[0].getsockname()[1] if sockets else port
        self._stopping = False

    async def stop(self) -> None:
        self._stopping = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimulatedUpstream:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """Base URL without `/v1`, e.g. `http://127.0.0.1:41234`."""
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """Base URL for an OpenAI client: `<url>/v1`."""
        return f"{self.url}/v1"

    # -- fault knobs -----------------------------------------------------------------

    def set_latency(self, seconds: float) -> None:
        self.faults.latency_s = seconds

    def set_error_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("error rate must be between 0 and 1")
        self.faults.error_rate = rate

    def kill_open_streams(self) -> None:
        """Cut every stream in progress at its next chunk (the connection drops)."""
        self._kill_generation += 1

    # -- request plumbing ------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _not_found(self, request: web.Request) -> web.Response:
        return openai_error(
            404,
            f"Unknown path {request.method} {request.path}",
            type_="invalid_request_error",
            code="not_found",
        )

    def _model_card(self, model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": self._created, "owned_by": "clustersim"}

    async def _list_models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [self._model_card(m) for m in self.models]}
        )

    async def _get_model(self, request: web.Request) -> web.Response:
        model = request.match_info["model_id"]
        if model not in self.models:
            return openai_error(
                404,
                f"The model `{model}` does not exist.",
                type_="invalid_request_error",
                code="model_not_found",
                param="model",
            )
        return web.json_response(self._model_card(model))

    async def _admit(
        self, request: web.Request, endpoint: str
    ) -> tuple[dict[str, Any] | None, web.Response | None]:
        """Parse and check a request; returns (body, None) or (None, error response)."""
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        self.received.append(
            ReceivedRequest(request.method, request.path, dict(request.headers), body)
        )
        if endpoint not in self.endpoints:
            return None, openai_error(
                404,
                f"The endpoint {ENDPOINT_PATHS[Endpoint(endpoint)]} is not enabled for this model.",
                type_="invalid_request_error",
                code="endpoint_not_enabled",
            )
        if not isinstance(body, dict):
            return None, openai_error(
                400,
                "The request body is not a JSON object.",
                type_="invalid_request_error",
                code="invalid_json",
            )
        model = body.get("model")
        if model not in self.models:
            return None, openai_error(
                404,
                f"The model `{model}` does not exist.",
                type_="invalid_request_error",
                code="model_not_found",
                param="model",
            )
        if self.faults.latency_s > 0:
            await asyncio.sleep(self.faults.latency_s)
        if self.faults.error_rate > 0 and self._random.random() < self.faults.error_rate:
            self.stats.errors_injected += 1
            return None, openai_error(
                500,
                "The simulated upstream failed this request (injected fault).",
                type_="server_error",
                code="simulated_error",
            )
        return body, None

    async def _serve(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        self.stats.requests += 1
        self.stats.in_flight += 1
        self.stats.by_endpoint[endpoint] += 1
        try:
            body, error = await self._admit(request, endpoint)
            if error is not None:
                return error
            assert body is not None
            if endpoint == EMBEDDINGS:
                response: web.StreamResponse = self._embed(body)
            elif body.get("stream"):
                response = await self._stream(request, endpoint, body)
            else:
                response = self._complete(endpoint, body)
            self.stats.completed += 1
            return response
        except asyncio.CancelledError:
            if not self._stopping:
                self.stats.aborted += 1
            raise
        except (ConnectionResetError, ConnectionError):
            self.stats.aborted += 1
            raise
        finally:
            self.stats.in_flight -= 1

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, CHAT_COMPLETIONS)

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, COMPLETIONS)

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, EMBEDDINGS)

    # -- generation ------------------------------------------------------------------

    @staticmethod
    def _prompt_text(endpoint: str, body: dict[str, Any]) -> tuple[str, int]:
        """The prompt as text, and its token count."""
        if endpoint == CHAT_COMPLETIONS:
            messages = body.get("messages") or []
            parts: list[str] = []
            for message in messages:
                content = message.get("content") if isinstance(message, dict) else None
                if isinstance(content, list):  # content parts
                    content = " ".join(
                        str(p.get("text", "")) for p in content if isinstance(p, dict)
                    )
                parts.append(str(content or ""))
            text = "\n".join(parts)
            # OpenAI's accounting: ~4 tokens of framing per message, 3 to prime the reply.
            return text, count_tokens(text) + 4 * len(messages) + 3
        prompt = body.get("prompt", "")
        if isinstance(prompt, list):
            prompt = " ".join(str(p) for p in prompt)
        text = str(prompt)
        return text, max(1, count_tokens(text))

    @staticmethod
    def _reply_tokens(prompt: str, body: dict[str, Any]) -> tuple[list[str], str]:
        """The reply's tokens (each with its leading space) and the finish reason."""
        requested = body.get("max_completion_tokens") or body.get("max_tokens")
        limit = int(requested) if isinstance(requested, int) and requested > 0 else None
        length = limit if limit is not None else DEFAULT_MAX_TOKENS
        start = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "little")
        words = [_VOCABULARY[(start + i) % len(_VOCABULARY)] for i in range(length)]
        tokens = [("" if i == 0 else " ") + w for i, w in enumerate(words)]
        finish = "length" if limit is not None else "stop"
        return tokens, finish

    def _ids(self, endpoint: str) -> tuple[str, str, int]:
        prefix = "chatcmpl" if endpoint == CHAT_COMPLETIONS else "cmpl"
        object_ = "chat.completion" if endpoint == CHAT_COMPLETIONS else "text_completion"
        return f"{prefix}-{uuid.uuid4().hex}", object_, int(time.time())

    def _complete(self, endpoint: str, body: dict[str, Any]) -> web.Response:
        prompt, prompt_tokens = self._prompt_text(endpoint, body)
        tokens, finish = self._reply_tokens(prompt, body)
        text = "".join(tokens)
        id_, object_, created = self._ids(endpoint)
        choice: dict[str, Any]
        if endpoint == CHAT_COMPLETIONS:
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": None,
            }
        else:
            choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
        return web.json_response(
            {
                "id": id_,
                "object": object_,
                "created": created,
                "model": body["model"],
                "system_fingerprint": "clustersim",
                "choices": [choice],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(tokens),
                    "total_tokens": prompt_tokens + len(tokens),
                },
            }
        )

    async def _stream(
        self, request: web.Request, endpoint: str, body: dict[str, Any]
    ) -> web.StreamResponse:
        prompt, prompt_tokens = self._prompt_text(endpoint, body)
        tokens, finish = self._reply_tokens(prompt, body)
        options = body.get("stream_options") or {}
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        id_, _, created = self._ids(endpoint)
        chat = endpoint == CHAT_COMPLETIONS
        object_ = "chat.completion.chunk" if chat else "text_completion"
        model = body["model"]

        def chunk(delta: dict[str, Any] | str, finish_reason: str | None) -> bytes:
            choice: dict[str, Any] = {"index": 0, "finish_reason": finish_reason, "logprobs": None}
            if chat:
                choice["delta"] = delta
            else:
                choice["text"] = delta
            payload: dict[str, Any] = {
                "id": id_,
                "object": object_,
                "created": created,
                "model": model,
                "system_fingerprint": "clustersim",
                "choices": [choice],
            }
            if include_usage:
                payload["usage"] = None
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        kill_generation = self._kill_generation
        kill_after = self.faults.kill_after_chunks
        sent = 0

        async def send(data: bytes) -> None:
            nonlocal sent
            if self._kill_generation != kill_generation or (
                kill_after is not None and sent >= kill_after
            ):
                raise _StreamKilled
            await response.write(data)
            sent += 1

        try:
            if chat:
                await send(chunk({"role": "assistant", "content": ""}, None))
            for token in tokens:
                if self.faults.token_delay_s > 0:
                    await asyncio.sleep(self.faults.token_delay_s)
                await send(chunk({"content": token} if chat else token, None))
            await send(chunk({} if chat else "", finish))
            if include_usage:
                usage = {
                    "id": id_,
                    "object": object_,
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": len(tokens),
                        "total_tokens": prompt_tokens + len(tokens),
                    },
                }
                await send(b"data: " + json.dumps(usage).encode() + b"\n\n")
            await send(b"data: [DONE]\n\n")
            await response.write_eof()
        except _StreamKilled:
            self.stats.streams_killed += 1
            # Drop the connection without the chunked terminator: the client sees a
            # truncated body, as it would when a replica dies.
            if request.transport is not None:
                request.transport.abort()
        return response

    def _embed(self, body: dict[str, Any]) -> web.Response:
        raw_input = body.get("input")
        inputs: list[str]
        if isinstance(raw_input, str):
            inputs = [raw_input]
        elif (
            isinstance(raw_input, list) and raw_input and all(isinstance(i, int) for i in raw_input)
        ):
            inputs = [" ".join(str(i) for i in raw_input)]
        elif isinstance(raw_input, list) and raw_input:
            inputs = [
                " ".join(str(t) for t in i) if isinstance(i, list) else str(i) for i in raw_input
            ]
        else:
            return openai_error(
                400,
                "`input` must be a non-empty string or array.",
                type_="invalid_request_error",
                code="invalid_input",
                param="input",
            )
        dimensions = body.get("dimensions")
        dim = (
            dimensions
            if isinstance(dimensions, int) and 0 < dimensions <= 4096
            else DEFAULT_EMBEDDING_DIMENSIONS
        )
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            return openai_error(
                400,
                "`encoding_format` must be `float` or `base64`.",
                type_="invalid_request_error",
                code="invalid_encoding_format",
                param="encoding_format",
            )
        data: list[dict[str, Any]] = []
        prompt_tokens = 0
        for index, text in enumerate(inputs):
            vector = embedding_vector(text, dim)
            prompt_tokens += max(1, count_tokens(text))
            embedding: list[float] | str
            if encoding == "base64":
                embedding = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode()
            else:
                embedding = vector
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
            }
        )

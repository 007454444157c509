"""The simulator's admin HTTP API (loopback only): DNS records and fault knobs.

Who calls it: the CLI's client subcommands (`dns set`, `gpu health`, `model fail`,
`watches close` ...) and anything that drives a simulator in another process. It calls
the knobs of `SimControls` (which `ClusterSim` provides; this module never imports it);
every answer is JSON, errors are `{"error": "..."}` with 400/404.

    GET    /healthz
    GET    /state                                  addresses, GPUs, models, upstreams
    GET    /dns/records
    PUT    /dns/records      {type, name, values|value, ttl?}
    DELETE /dns/records      ?type=&name=[&value=]
    PUT    /dns/faults       {name, mode: servfail|timeout|none}
    POST   /gpus             {spec: "1x2:A100-40GB"}
    PUT    /gpus/{name}/health   {health: Healthy|Degraded|Unhealthy}
    DELETE /gpus/{name}
    POST   /models/{namespace}/{name}/fail   {reason?}
    POST   /models/{namespace}/{name}/kill-streams
    PUT    /upstreams/faults {latencyMs?, errorRate?, tokenDelayMs?, killAfterChunks?}
    POST   /upstreams/kill-streams
    POST   /watches/close
    GET    /writes           ?userAgentPrefix=  mutating requests with their client and the Lease holders then
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from aiohttp import web

from lc_clustersim.dns_zone import Record
from lc_clustersim.upstream import SimulatedUpstream, UpstreamFaults


class SimControls(Protocol):
    """What the admin API reads and turns on a running simulator."""

    def describe(self) -> dict[str, Any]: ...
    def upstreams(self) -> list[SimulatedUpstream]: ...
    @property
    def open_watches(self) -> int: ...
    @property
    def upstream_faults(self) -> UpstreamFaults: ...
    def dns_records(self) -> list[Record]: ...
    def set_dns_record(
        self, type_: str, name: str, values: list[str] | str, ttl: int = 60
    ) -> None: ...
    def delete_dns_record(self, type_: str, name: str, value: str | None = None) -> int: ...
    def set_dns_fault(self, name: str, mode: str | None) -> None: ...
    async def add_gpus(self, spec: str) -> list[str]: ...
    async def set_gpu_health(self, gpu: str, health: str) -> None: ...
    async def remove_gpu(self, gpu: str) -> None: ...
    async def fail_model(self, namespace: str, name: str, reason: str = ...) -> None: ...
    def kill_streams(self, namespace: str | None = None, model: str | None = None) -> int: ...
    def set_upstream_faults(
        self,
        *,
        latency_s: float | None = None,
        error_rate: float | None = None,
        token_delay_s: float | None = None,
        kill_after_chunks: int | None = None,
    ) -> None: ...
    def close_watches(self) -> int: ...
    def recorded_writes(self) -> list[dict[str, Any]]: ...


def _ok(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


class AdminApi:
    def __init__(self, sim: SimControls) -> None:
        self.sim = sim
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, host: str, port: int) -> None:
        app = web.Application(middlewares=[self._errors])
        r = app.router
        r.add_get("/healthz", self._health)
        r.add_get("/state", self._state)
        r.add_get("/dns/records", self._dns_list)
        r.add_put("/dns/records", self._dns_set)
        r.add_delete("/dns/records", self._dns_delete)
        r.add_put("/dns/faults", self._dns_fault)
        r.add_post("/gpus", self._gpu_add)
        r.add_put("/gpus/{name}/health", self._gpu_health)
        r.add_delete("/gpus/{name}", self._gpu_remove)
        r.add_post("/models/{namespace}/{name}/fail", self._model_fail)
        r.add_post("/models/{namespace}/{name}/kill-streams", self._model_kill)
        r.add_put("/upstreams/faults", self._upstream_faults)
        r.add_post("/upstreams/kill-streams", self._kill_all)
        r.add_post("/watches/close", self._watches_close)
        r.add_get("/writes", self._writes)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.url = f"http://{host}:{sockets[0].getsockname()[1] if sockets else port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except KeyError as exc:
            return _error(str(exc.args[0]) if exc.args else "not found", 404)
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            return _error(str(exc), 400)

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    async def _health(self, request: web.Request) -> web.Response:
        return _ok({"status": "ok"})

    async def _state(self, request: web.Request) -> web.Response:
        state = self.sim.describe()
        state["upstreams"] = [
            {"name": u.name, "url": u.url, "models": u.models, "inFlight": u.stats.in_flight}
            for u in self.sim.upstreams()
        ]
        state["openWatches"] = self.sim.open_watches
        return _ok(state)

    async def _dns_list(self, request: web.Request) -> web.Response:
        return _ok(
            {
                "records": [
                    {"type": r.type, "name": r.name, "value": r.value, "ttl": r.ttl}
                    for r in self.sim.dns_records()
                ]
            }
        )

    async def _dns_set(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        values = body.get("values", body.get("value"))
        if values is None or "type" not in body or "name" not in body:
            raise ValueError("type, name and value (or values) are required")
        self.sim.set_dns_record(
            str(body["type"]), str(body["name"]), values, int(body.get("ttl", 60))
        )
        return _ok({"type": body["type"], "name": body["name"], "values": values})

    async def _dns_delete(self, request: web.Request) -> web.Response:
        q = request.query
        if "type" not in q or "name" not in q:
            raise ValueError("type and name are required")
        removed = self.sim.delete_dns_record(q["type"], q["name"], q.get("value"))
        return _ok({"removed": removed})

    async def _dns_fault(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if "name" not in body:
            raise ValueError("name is required")
        self.sim.set_dns_fault(str(body["name"]), body.get("mode"))
        return _ok({"name": body["name"], "mode": body.get("mode") or "none"})

    async def _gpu_add(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        added = await self.sim.add_gpus(str(body.get("spec", "")))
        return _ok({"added": added}, 201)

    async def _gpu_health(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        await self.sim.set_gpu_health(request.match_info["name"], str(body.get("health")))
        return _ok({"name": request.match_info["name"], "health": body.get("health")})

    async def _gpu_remove(self, request: web.Request) -> web.Response:
        await self.sim.remove_gpu(request.match_info["name"])
        return _ok({"removed": request.match_info["name"]})

    async def _model_fail(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        info = request.match_info
        await self.sim.fail_model(
            info["namespace"], info["name"], str(body.get("reason") or "simulated load failure")
        )
        return _ok({"failed": f"{info['namespace']}/{info['name']}"})

    async def _model_kill(self, request: web.Request) -> web.Response:
        info = request.match_info
        return _ok({"servers": self.sim.kill_streams(info["namespace"], info["name"])})

    async def _kill_all(self, request: web.Request) -> web.Response:
        return _ok({"servers": self.sim.kill_streams()})

    async def _writes(self, request: web.Request) -> web.Response:
        prefix = request.query.get("userAgentPrefix", "")
        writes = [w for w in self.sim.recorded_writes() if w["user_agent"].startswith(prefix)]
        return _ok({"writes": writes})

    async def _upstream_faults(self, request: web.Request) -> web.Response:
        body = await self._json(request)

        def seconds(key: str) -> float | None:
            return float(body[key]) / 1000 if body.get(key) is not None else None

        self.sim.set_upstream_faults(
            latency_s=seconds("latencyMs"),
            error_rate=float(body["errorRate"]) if body.get("errorRate") is not None else None,
            token_delay_s=seconds("tokenDelayMs"),
            kill_after_chunks=int(body["killAfterChunks"])
            if body.get("killAfterChunks") is not None
            else None,
        )
        faults = self.sim.upstream_faults
        return _ok(
            {
                "latencyMs": faults.latency_s * 1000,
                "errorRate": faults.error_rate,
                "tokenDelayMs": faults.token_delay_s * 1000,
                "killAfterChunks": faults.kill_after_chunks,
            }
        )

    async def _watches_close(self, request: web.Request) -> web.Response:
        return _ok({"closed": self.sim.close_watches()})

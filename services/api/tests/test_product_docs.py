"""The product docs' curl examples, verbatim, and the shapes they promise."""

from __future__ import annotations

import json
import re

import httpx

from .conftest import DOCS_DOMAIN, DOCS_HELLO, DOCS_LLAMA, DOCS_PROJECT

JSON = {"Content-Type": "application/json"}


async def post(client: httpx.AsyncClient, path: str, body: dict[str, object]) -> httpx.Response:
    # Sent as the docs' curl sends it: a raw JSON string with Content-Type.
    return await client.post(path, content=json.dumps(body), headers=JSON)


async def test_create_project_default(client: httpx.AsyncClient) -> None:
    response = await post(client, "/api/v1/projects", DOCS_PROJECT)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["slug"] == "default"
    assert body["name"] == "Default"
    assert body["serviceCount"] == 0
    assert response.headers["location"] == "/api/v1/projects/default"
    assert int(response.headers["x-lc-seq"]) >= 1
    assert response.headers["etag"] == f'"{body["version"]}"'


async def test_deploy_llama_inference_service(client: httpx.AsyncClient) -> None:
    await post(client, "/api/v1/projects", DOCS_PROJECT)
    response = await post(client, "/api/v1/projects/default/services", DOCS_LLAMA)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "llama-3-8b"
    assert body["projectSlug"] == "default"
    assert body["revision"] == 1
    assert body["spec"]["tier"] == "inference"
    assert body["spec"]["kind"]["model"] == {
        "modelName": "meta-llama/Llama-3.1-8B-Instruct",
        "dtype": "bfloat16",
        "endpoints": ["chat_completions", "completions"],
    }
    assert body["status"]["phase"] == "Pending"
    assert body["url"] == "https://llama-3-8b-default.example.com"
    assert body["domains"] == []


async def test_deploy_hello_cpu_service(client: httpx.AsyncClient) -> None:
    await post(client, "/api/v1/projects", DOCS_PROJECT)
    response = await post(client, "/api/v1/projects/default/services", DOCS_HELLO)
    assert response.status_code == 201, response.text
    body = response.json()
    container = body["spec"]["kind"]["container"]
    assert container["image"] == "hashicorp/http-echo:latest"
    assert container["command"] == ["/http-echo", "-text=hi", "-listen=:8080"]
    assert container["ports"] == [{"port": 8080, "name": "http", "protocol": "TCP"}]
    assert body["spec"]["tier"] == "cpu"
    assert body["url"] == "https://hello-default.example.com"


async def test_register_chat_acme_com(client: httpx.AsyncClient) -> None:
    await post(client, "/api/v1/projects", DOCS_PROJECT)
    await post(client, "/api/v1/projects/default/services", DOCS_LLAMA)
    response = await post(client, "/api/v1/domains", DOCS_DOMAIN)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["challengeRR"] == "_lc-challenge.chat.acme.com"
    assert len(body["challengeToken"]) >= 22  # ≥128 bits in URL-safe base64
    assert re.fullmatch(r"[A-Za-z0-9_-]+", body["challengeToken"])
    assert body["fqdn"] == "chat.acme.com"
    assert body["projectSlug"] == "default"
    assert body["serviceName"] == "llama-3-8b"
    assert body["status"] == "pending"
    assert body["cnameTarget"] == "ingress.example.com"
    assert set(body) >= {
        "id",
        "fqdn",
        "projectSlug",
        "serviceName",
        "status",
        "challengeRR",
        "challengeToken",
        "cnameTarget",
    }
    verify = await client.post(f"/api/v1/domains/{body['id']}/verify")
    assert verify.status_code == 200, verify.text
    assert verify.json()["status"] == "verifying"

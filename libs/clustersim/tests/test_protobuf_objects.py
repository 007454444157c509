"""Protobuf request bodies: the wire reader, and each kind decoded to its Kubernetes JSON form.

Real kubectl bodies come from `fixtures/kubectl_protobuf/` (see its README); the other
cases are built here with a small encoder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lc_clustersim.kubeapi import protobuf_wire as wire
from lc_clustersim.kubeapi.protobuf_objects import (
    ProtobufBodyError,
    UnsupportedObject,
    decode_object,
    parse_messages,
)

FIXTURES = Path(__file__).parent / "fixtures" / "kubectl_protobuf"

# -- a tiny encoder --------------------------------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers go as 64-bit two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def num(number: int, value: int) -> bytes:
    return varint(number << 3 | wire.VARINT) + varint(value)


def raw(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | wire.LENGTH_DELIMITED) + varint(len(payload)) + payload


def text(number: int, value: str) -> bytes:
    return raw(number, value.encode())


def msg(number: int, *fields: bytes) -> bytes:
    return raw(number, b"".join(fields))


def entry(number: int, key: str, value: bytes) -> bytes:
    """A map entry whose value is already encoded as field 2."""
    return msg(number, text(1, key), value)


def envelope(api_version: str, kind: str, *fields: bytes, encoding: str = "") -> bytes:
    type_meta = msg(1, text(1, api_version), text(2, kind))
    extra = text(3, encoding) if encoding else b""
    return b"k8s\x00" + type_meta + msg(2, *fields) + extra


def quantity(number: int, value: str) -> bytes:
    return msg(number, text(1, value))


def int_or_string(number: int, value: int | str) -> bytes:
    if isinstance(value, str):
        return msg(number, num(1, 1), num(2, 0), text(3, value))
    return msg(number, num(1, 0), num(2, value), text(3, ""))


def metadata(*extra: bytes) -> bytes:
    """ObjectMeta as field 1 of an object: web in demo, then `extra`."""
    return msg(1, text(1, "web"), text(3, "demo"), *extra)


def container(*extra: bytes) -> bytes:
    """A Container as field 2 of a PodSpec."""
    return msg(2, text(1, "main"), text(2, "registry.example.com/app:1.0"), *extra)


# -- the wire reader -------------------------------------------------------------------


def test_varints_span_bytes_and_negative_numbers_take_ten() -> None:
    assert wire.read_varint(b"\xac\x02rest", 0) == (300, 2)
    minus_one = varint(-1)
    assert len(minus_one) == 10
    value, end = wire.read_varint(minus_one, 0)
    assert (wire.to_signed(value), end) == (-1, 10)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_signed_varints_round_trip(value: int) -> None:
    decoded, end = wire.read_varint(varint(value), 0)
    assert wire.to_signed(decoded) == value
    assert end == len(varint(value))


def test_fields_of_every_wire_type_in_order() -> None:
    data = (
        num(1, 7)
        + varint(2 << 3 | wire.FIXED64)
        + (2**40 + 5).to_bytes(8, "little")
        + text(3, "hi")
        + varint(4 << 3 | wire.FIXED32)
        + (65537).to_bytes(4, "little")
        + text(3, "again")
    )
    assert list(wire.read_fields(data)) == [
        wire.WireField(1, wire.VARINT, 7),
        wire.WireField(2, wire.FIXED64, 2**40 + 5),
        wire.WireField(3, wire.LENGTH_DELIMITED, b"hi"),
        wire.WireField(4, wire.FIXED32, 65537),
        wire.WireField(3, wire.LENGTH_DELIMITED, b"again"),
    ]


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"\x08\x80", "inside a varint"),
        (b"\x08" + b"\xff" * 10 + b"\x01", "longer than 10 bytes"),
        (b"\x0a\x05ab", "past the end"),
        (b"\x09\x01\x02", "inside a fixed-width value"),
        (b"\x0b", "wire type 3"),
        (b"\x00\x01", "field number 0"),
    ],
)
def test_malformed_wire_data_is_refused(data: bytes, complaint: str) -> None:
    with pytest.raises(wire.WireError, match=complaint):
        list(wire.read_fields(data))


# -- real kubectl bodies ---------------------------------------------------------------


def fixture(name: str) -> bytes:
    return bytes.fromhex((FIXTURES / f"{name}.hex").read_text().replace("\n", ""))


def expected_json(name: str) -> dict[str, Any]:
    found = json.loads((FIXTURES / f"{name}.json").read_text())
    assert isinstance(found, dict)
    return found


@pytest.mark.parametrize("name", sorted(path.stem for path in FIXTURES.glob("*.hex")))
def test_kubectl_bodies_decode_to_the_json_kubectl_would_send(name: str) -> None:
    assert decode_object(fixture(name)) == expected_json(name)


# -- each kind, field by field ---------------------------------------------------------


def test_object_meta_fields_timestamps_and_owner_references() -> None:
    body = envelope(
        "v1",
        "ConfigMap",
        metadata(
            text(2, ""),  # zero scalars are what Go's encoder always writes: dropped
            num(7, 0),
            msg(8, num(1, 1_700_000_000), num(2, 999)),  # nanos: dropped, like metav1.Time
            msg(9),  # the zero time: left out
            num(10, 30),
            entry(11, "app", text(2, "web")),
            entry(11, "tier", text(2, "front")),
            entry(12, "note", text(2, "")),
            msg(
                13,
                text(1, "Deployment"),
                text(3, "web"),
                text(4, "uid-1"),
                text(5, "apps/v1"),
                num(6, 1),
                num(7, 0),
            ),
            text(14, "example.com/cleanup"),
            num(99, 5),  # a field number this table does not know
            varint(98 << 3 | wire.FIXED32) + b"\x00\x00\x00\x00",
            varint(97 << 3 | wire.FIXED64) + b"\x00" * 8,
            text(96, "later"),
        ),
        entry(2, "k", text(2, "v")),
    )
    assert decode_object(body) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "web",
            "namespace": "demo",
            "creationTimestamp": "2023-11-14T22:13:20Z",
            "deletionGracePeriodSeconds": 30,
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"note": ""},
            "ownerReferences": [
                {
                    "kind": "Deployment",
                    "name": "web",
                    "uid": "uid-1",
                    "apiVersion": "apps/v1",
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
            "finalizers": ["example.com/cleanup"],
        },
        "data": {"k": "v"},
    }


def test_byte_maps_are_base64_and_a_pointer_keeps_false() -> None:
    string_data = entry(4, "plain", text(2, "hello"))
    secret_fields = (num(5, 1), entry(2, "key.bin", raw(2, b"\x00\xff\xfe")), string_data)
    assert decode_object(envelope("v1", "Secret", metadata(), *secret_fields)) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "web", "namespace": "demo"},
        "immutable": True,
        "data": {"key.bin": "AP/+"},
        "stringData": {"plain": "hello"},
    }
    # A map entry without a value field holds the zero value.
    binary_data = (entry(3, "blob", raw(2, b"\x01\x02")), entry(3, "empty", b""))
    config_map = decode_object(envelope("v1", "ConfigMap", metadata(), num(4, 0), *binary_data))
    assert config_map["immutable"] is False
    assert config_map["binaryData"] == {"blob": "AQI=", "empty": ""}


def test_service_account_references() -> None:
    body = envelope(
        "v1",
        "ServiceAccount",
        metadata(),
        msg(2, text(1, "Secret"), text(3, "token")),
        msg(3, text(1, "registry")),
        num(4, 0),
    )
    decoded = decode_object(body)
    assert decoded["secrets"] == [{"kind": "Secret", "name": "token"}]
    assert decoded["imagePullSecrets"] == [{"name": "registry"}]
    assert decoded["automountServiceAccountToken"] is False


def test_service_ports_with_named_target_ports_and_pointer_strings() -> None:
    body = envelope(
        "v1",
        "Service",
        metadata(),
        msg(
            2,
            msg(1, text(1, "http"), text(2, "TCP"), num(3, 80), int_or_string(4, "web"), num(5, 0)),
            msg(1, text(1, "metrics"), num(3, 9090), int_or_string(4, 9091), num(5, 30090)),
            entry(2, "app", text(2, "web")),
            text(3, "None"),
            text(4, "NodePort"),
            text(22, "Local"),
            num(20, 0),
        ),
    )
    assert decode_object(body)["spec"] == {
        "ports": [
            {"name": "http", "protocol": "TCP", "port": 80, "targetPort": "web"},
            {"name": "metrics", "port": 9090, "targetPort": 9091, "nodePort": 30090},
        ],
        "selector": {"app": "web"},
        "clusterIP": "None",
        "type": "NodePort",
        "internalTrafficPolicy": "Local",
        "allocateLoadBalancerNodePorts": False,
    }


def test_deployment_spec_pod_template_and_containers() -> None:
    body = envelope(
        "apps/v1",
        "Deployment",
        metadata(),
        msg(
            2,
            num(1, 0),  # replicas is a pointer: an explicit zero means zero
            msg(2, msg(2, text(1, "tier"), text(2, "In"), text(3, "front"), text(3, "edge"))),
            msg(
                3,
                msg(1, entry(11, "app", text(2, "web"))),
                msg(
                    2,
                    container(
                        text(3, "python"),
                        text(4, "-m"),
                        text(4, "app"),
                        msg(6, text(1, "http"), num(3, 8080), text(4, "TCP")),
                        msg(7, text(1, "MODE"), text(2, "prod")),
                        msg(
                            7,
                            text(1, "TOKEN"),
                            msg(3, msg(4, msg(1, text(1, "creds")), text(2, "token"))),
                        ),
                        msg(19, text(1, "CFG_"), msg(2, msg(1, text(1, "settings")))),
                        msg(
                            8,
                            entry(1, "cpu", quantity(2, "500m")),
                            entry(1, "nvidia.com/gpu", quantity(2, "1")),
                            entry(2, "memory", quantity(2, "1Gi")),
                        ),
                        msg(9, text(1, "config"), text(3, "/etc/app"), num(2, 1)),
                        msg(
                            11,
                            msg(1, msg(2, text(1, "/healthz"), int_or_string(2, "http"))),
                            num(2, 5),
                            num(4, 10),
                        ),
                        msg(10, msg(1, msg(1, text(1, "true")))),
                        text(14, "IfNotPresent"),
                        msg(15, num(4, 1000), num(7, 0), msg(1, text(2, "ALL"))),
                    ),
                    msg(2, text(1, "sidecar"), text(2, "proxy"), text(24, "Always")),
                    msg(1, text(1, "config"), msg(2, msg(19, msg(1, text(1, "settings"))))),
                    msg(1, text(1, "scratch"), msg(2, msg(2, quantity(2, "1Gi")))),
                    text(3, "Always"),
                    num(4, 0),
                    entry(7, "gpu", text(2, "h100")),
                    text(8, "runner"),
                    msg(14, num(5, 1000), num(4, 5), num(4, 6)),
                    msg(22, text(1, "gpu"), text(2, "Exists"), text(4, "NoSchedule")),
                ),
            ),
            msg(4, text(1, "RollingUpdate"), msg(2, int_or_string(1, 0), int_or_string(2, "25%"))),
            num(5, 0),
            num(6, 3),
            num(9, 600),
        ),
        msg(3, num(2, 2)),  # status: not part of a create
    )
    decoded = decode_object(body)
    assert "status" not in decoded
    spec = decoded["spec"]
    assert spec["replicas"] == 0
    assert "minReadySeconds" not in spec
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (3, 600)
    assert spec["selector"] == {
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "edge"]}]
    }
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
    }
    pod = spec["template"]["spec"]
    assert spec["template"]["metadata"] == {"labels": {"app": "web"}}
    main, sidecar = pod["containers"]
    assert main == {
        "name": "main",
        "image": "registry.example.com/app:1.0",
        "command": ["python"],
        "args": ["-m", "app"],
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [
            {"name": "MODE", "value": "prod"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        ],
        "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "settings"}}],
        "resources": {
            "limits": {"cpu": "500m", "nvidia.com/gpu": "1"},
            "requests": {"memory": "1Gi"},
        },
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True}],
        "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
        },
        "livenessProbe": {"exec": {"command": ["true"]}},
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "runAsUser": 1000,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    assert sidecar == {"name": "sidecar", "image": "proxy", "restartPolicy": "Always"}
    assert pod["volumes"] == [
        {"name": "config", "configMap": {"name": "settings"}},
        {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
    ]
    assert pod["restartPolicy"] == "Always"
    assert pod["terminationGracePeriodSeconds"] == 0
    assert pod["nodeSelector"] == {"gpu": "h100"}
    assert pod["serviceAccountName"] == "runner"
    assert pod["securityContext"] == {"fsGroup": 1000, "supplementalGroups": [5, 6]}
    assert pod["tolerations"] == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_packed_numbers_and_negative_pointers() -> None:
    packed = raw(4, varint(5) + varint(6) + varint(70000))
    body = envelope(
        "v1",
        "Pod",
        metadata(),
        msg(2, container(), num(5, -1), msg(14, packed, num(4, 7))),
    )
    spec = decode_object(body)["spec"]
    assert spec["activeDeadlineSeconds"] == -1
    assert spec["securityContext"] == {"supplementalGroups": [5, 6, 70000, 7]}


def test_replica_set_and_a_repeated_scalar_field_keeps_the_last_value() -> None:
    body = envelope(
        "apps/v1",
        "ReplicaSet",
        metadata(text(1, "renamed")),
        msg(2, num(1, 3), num(1, 4), msg(3, msg(2, container()))),
    )
    decoded = decode_object(body)
    assert decoded["metadata"]["name"] == "renamed"
    assert decoded["spec"]["replicas"] == 4
    assert decoded["spec"]["template"]["spec"]["containers"][0]["name"] == "main"


# -- refusals --------------------------------------------------------------------------


def test_a_kind_without_a_schema_is_unsupported_and_named() -> None:
    with pytest.raises(UnsupportedObject, match=r"Job \(batch/v1\) as JSON"):
        decode_object(envelope("batch/v1", "Job", metadata()))


def test_a_content_encoding_is_unsupported() -> None:
    with pytest.raises(UnsupportedObject, match="gzip"):
        decode_object(envelope("v1", "ConfigMap", metadata(), encoding="gzip"))


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b'{"kind": "ConfigMap"}', "prefix"),
        (b"k8s\x00\x0a\x40", "envelope is malformed"),
        (envelope("v1", "ConfigMap", b"\x0a\x05ab"), "ConfigMap in the body is malformed"),
        (envelope("v1", "ConfigMap", num(1, 5)), "should be length-delimited"),
        (envelope("v1", "ConfigMap", metadata(text(7, "x"))), "should be a varint"),
        (envelope("v1", "ConfigMap", metadata(raw(1, b"\xff"))), "UTF-8"),
    ],
)
def test_malformed_bodies_are_bad_requests(body: bytes, complaint: str) -> None:
    with pytest.raises(ProtobufBodyError, match=complaint):
        decode_object(body)


@pytest.mark.parametrize(
    "line",
    ["2 containers []Containr", "2 containers []Container embedded", "2 containers", "x a string"],
)
def test_a_schema_table_line_that_cannot_be_read_is_refused(line: str) -> None:
    table = f"Container\n    1 name string\nPodSpec\n    {line}\n"
    with pytest.raises(ValueError, match="cannot read the schema line"):
        parse_messages(table)
    assert parse_messages(table.replace(line, "2 containers []Container"))["PodSpec"]

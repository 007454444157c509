"""Kubernetes objects sent as `application/vnd.kubernetes.protobuf`, decoded to their JSON form.

Who calls it: `http_server` when a POST or PUT body is protobuf, which is what kubectl's
generator commands send (`kubectl create namespace|secret|configmap|serviceaccount|
deployment|service ...`) and what they do not retry as JSON. The result is the same dict
a JSON body would have given, so the store handles both alike.

What it owns: the envelope (the magic `k8s\\x00`, then a `runtime.Unknown` whose `raw` is
the object's own message) and `MESSAGES`, a declarative table of each message's field
numbers, JSON names and Go types, written from k8s.io/api's and k8s.io/apimachinery's
`generated.proto`. It covers the kinds in `KINDS` with their common fields; a field the
table does not list is skipped.

Kubernetes' JSON form, which this reproduces:
- names are the API's camelCase ones; an embedded Go struct (`inline`) adds its fields to
  its parent's (`configMapKeyRef.name`, a volume's `emptyDir`, a probe's `httpGet`);
- `bytes` (Secret `data`, ConfigMap `binaryData`) are base64 strings;
- `Time` is RFC 3339 in UTC to the second, and the zero time is left out;
- `IntOrString` is a number or a string, `Quantity` its string;
- Go's protobuf encoder writes every non-pointer field, zeros included, where Go's JSON
  leaves them out (`omitempty`), so a zero scalar is dropped unless the Go field is a
  pointer (`replicas *int32`: `replicas: 0` means zero, not "default to 1"). Nested
  messages are kept even when empty (`resources: {}`), as Go's JSON does.

    ProtobufBodyError(ValueError)  no magic, or bytes that are not the message they claim
                                   to be; the HTTP layer answers 400 BadRequest
    UnsupportedObject(ValueError)  a kind (or content encoding) with no schema here; the
                                   HTTP layer answers 415 UnsupportedMediaType
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from lc_clustersim.kubeapi.protobuf_wire import (
    LENGTH_DELIMITED,
    VARINT,
    WireError,
    WireField,
    read_fields,
    read_varint,
    to_signed,
)

MAGIC = b"k8s\x00"

Scalar = Literal["string", "int", "bool", "bytes", "time", "quantity", "int_or_string"]


class ProtobufBodyError(ValueError):
    """The body is not a well-formed Kubernetes protobuf object."""


class UnsupportedObject(ValueError):
    """A well-formed envelope around an object this module has no schema for."""


@dataclass(frozen=True, slots=True)
class Field:
    """How one field number of a message becomes a JSON member."""

    name: str
    type: Scalar | Mapping[int, Field]
    """A scalar, or the schema of a nested message."""
    repeated: bool = False
    map: bool = False
    """A `map<string, type>`: on the wire, repeated entries with key 1 and value 2."""
    pointer: bool = False
    """A Go pointer field: present on the wire only when set, so a zero is kept."""
    inline: bool = False
    """An embedded Go struct whose fields appear in the parent's JSON object."""


Schema = Mapping[int, Field]

# Every message this module decodes, as `<number> <jsonName> <Go type> [inline]` under the
# message's name, from k8s.io/apimachinery (meta/v1) and k8s.io/api (core/v1, apps/v1)
# `generated.proto` and `types.go`. The Go type decides the JSON: `*T` is a pointer (a zero
# is kept), `[]T` a list, `map[string]T` a map, `[]byte` base64; `Time`, `Quantity` and
# `IntOrString` have their own JSON forms. A message is defined before it is used.
MESSAGES = """
OwnerReference
    5 apiVersion string
    1 kind string
    3 name string
    4 uid string
    6 controller *bool
    7 blockOwnerDeletion *bool
ObjectMeta
    1 name string
    2 generateName string
    3 namespace string
    4 selfLink string
    5 uid string
    6 resourceVersion string
    7 generation int64
    8 creationTimestamp Time
    9 deletionTimestamp *Time
    10 deletionGracePeriodSeconds *int64
    11 labels map[string]string
    12 annotations map[string]string
    13 ownerReferences []OwnerReference
    14 finalizers []string
LabelSelectorRequirement
    1 key string
    2 operator string
    3 values []string
LabelSelector
    1 matchLabels map[string]string
    2 matchExpressions []LabelSelectorRequirement

LocalObjectReference
    1 name string
ObjectReference
    1 kind string
    2 namespace string
    3 name string
    4 uid string
    5 apiVersion string
    6 resourceVersion string
    7 fieldPath string
ConfigMapKeySelector
    1 localObjectReference LocalObjectReference inline
    2 key string
    3 optional *bool
SecretKeySelector
    1 localObjectReference LocalObjectReference inline
    2 key string
    3 optional *bool
ConfigMapEnvSource
    1 localObjectReference LocalObjectReference inline
    2 optional *bool
SecretEnvSource
    1 localObjectReference LocalObjectReference inline
    2 optional *bool
ObjectFieldSelector
    1 apiVersion string
    2 fieldPath string
ResourceFieldSelector
    1 containerName string
    2 resource string
    3 divisor Quantity
EnvVarSource
    1 fieldRef *ObjectFieldSelector
    2 resourceFieldRef *ResourceFieldSelector
    3 configMapKeyRef *ConfigMapKeySelector
    4 secretKeyRef *SecretKeySelector
EnvVar
    1 name string
    2 value string
    3 valueFrom *EnvVarSource
EnvFromSource
    1 prefix string
    2 configMapRef *ConfigMapEnvSource
    3 secretRef *SecretEnvSource

ContainerPort
    1 name string
    2 hostPort int32
    3 containerPort int32
    4 protocol string
    5 hostIP string
ResourceRequirements
    1 limits map[string]Quantity
    2 requests map[string]Quantity
VolumeMount
    1 name string
    2 readOnly bool
    3 mountPath string
    4 subPath string
    5 mountPropagation *string
    6 subPathExpr string
ExecAction
    1 command []string
HTTPHeader
    1 name string
    2 value string
HTTPGetAction
    1 path string
    2 port IntOrString
    3 host string
    4 scheme string
    5 httpHeaders []HTTPHeader
TCPSocketAction
    1 port IntOrString
    2 host string
ProbeHandler
    1 exec *ExecAction
    2 httpGet *HTTPGetAction
    3 tcpSocket *TCPSocketAction
Probe
    1 handler ProbeHandler inline
    2 initialDelaySeconds int32
    3 timeoutSeconds int32
    4 periodSeconds int32
    5 successThreshold int32
    6 failureThreshold int32
    7 terminationGracePeriodSeconds *int64
Capabilities
    1 add []string
    2 drop []string
SecurityContext
    1 capabilities *Capabilities
    2 privileged *bool
    4 runAsUser *int64
    5 runAsNonRoot *bool
    6 readOnlyRootFilesystem *bool
    7 allowPrivilegeEscalation *bool
    8 runAsGroup *int64
Container
    1 name string
    2 image string
    3 command []string
    4 args []string
    5 workingDir string
    6 ports []ContainerPort
    19 envFrom []EnvFromSource
    7 env []EnvVar
    8 resources ResourceRequirements
    9 volumeMounts []VolumeMount
    10 livenessProbe *Probe
    11 readinessProbe *Probe
    22 startupProbe *Probe
    13 terminationMessagePath string
    20 terminationMessagePolicy string
    14 imagePullPolicy string
    15 securityContext *SecurityContext
    16 stdin bool
    17 stdinOnce bool
    18 tty bool
    24 restartPolicy *string

KeyToPath
    1 key string
    2 path string
    3 mode *int32
EmptyDirVolumeSource
    1 medium string
    2 sizeLimit *Quantity
SecretVolumeSource
    1 secretName string
    2 items []KeyToPath
    3 defaultMode *int32
    4 optional *bool
ConfigMapVolumeSource
    1 localObjectReference LocalObjectReference inline
    2 items []KeyToPath
    3 defaultMode *int32
    4 optional *bool
PersistentVolumeClaimVolumeSource
    1 claimName string
    2 readOnly bool
VolumeSource
    2 emptyDir *EmptyDirVolumeSource
    6 secret *SecretVolumeSource
    10 persistentVolumeClaim *PersistentVolumeClaimVolumeSource
    19 configMap *ConfigMapVolumeSource
Volume
    1 name string
    2 volumeSource VolumeSource inline
Toleration
    1 key string
    2 operator string
    3 value string
    4 effect string
    5 tolerationSeconds *int64
PodSecurityContext
    2 runAsUser *int64
    3 runAsNonRoot *bool
    4 supplementalGroups []int64
    5 fsGroup *int64
    6 runAsGroup *int64
PodSpec
    1 volumes []Volume
    20 initContainers []Container
    2 containers []Container
    3 restartPolicy string
    4 terminationGracePeriodSeconds *int64
    5 activeDeadlineSeconds *int64
    6 dnsPolicy string
    7 nodeSelector map[string]string
    8 serviceAccountName string
    9 serviceAccount string
    21 automountServiceAccountToken *bool
    10 nodeName string
    11 hostNetwork bool
    12 hostPID bool
    13 hostIPC bool
    27 shareProcessNamespace *bool
    14 securityContext *PodSecurityContext
    15 imagePullSecrets []LocalObjectReference
    16 hostname string
    17 subdomain string
    19 schedulerName string
    22 tolerations []Toleration
    24 priorityClassName string
    25 priority *int32
    30 enableServiceLinks *bool
PodTemplateSpec
    1 metadata ObjectMeta
    2 spec PodSpec

ServicePort
    1 name string
    2 protocol string
    6 appProtocol *string
    3 port int32
    4 targetPort IntOrString
    5 nodePort int32
ServiceSpec
    1 ports []ServicePort
    2 selector map[string]string
    3 clusterIP string
    18 clusterIPs []string
    4 type string
    5 externalIPs []string
    7 sessionAffinity string
    8 loadBalancerIP string
    9 loadBalancerSourceRanges []string
    10 externalName string
    11 externalTrafficPolicy string
    12 healthCheckNodePort int32
    13 publishNotReadyAddresses bool
    19 ipFamilies []string
    17 ipFamilyPolicy *string
    20 allocateLoadBalancerNodePorts *bool
    21 loadBalancerClass *string
    22 internalTrafficPolicy *string

RollingUpdateDeployment
    1 maxUnavailable *IntOrString
    2 maxSurge *IntOrString
DeploymentStrategy
    1 type string
    2 rollingUpdate *RollingUpdateDeployment
DeploymentSpec
    1 replicas *int32
    2 selector *LabelSelector
    3 template PodTemplateSpec
    4 strategy DeploymentStrategy
    5 minReadySeconds int32
    6 revisionHistoryLimit *int32
    7 paused bool
    9 progressDeadlineSeconds *int32
ReplicaSetSpec
    1 replicas *int32
    4 minReadySeconds int32
    2 selector *LabelSelector
    3 template PodTemplateSpec

NamespaceSpec
    1 finalizers []string
Namespace
    1 metadata ObjectMeta
    2 spec NamespaceSpec
Secret
    1 metadata ObjectMeta
    5 immutable *bool
    2 data map[string][]byte
    4 stringData map[string]string
    3 type string
ConfigMap
    1 metadata ObjectMeta
    4 immutable *bool
    2 data map[string]string
    3 binaryData map[string][]byte
ServiceAccount
    1 metadata ObjectMeta
    2 secrets []ObjectReference
    3 imagePullSecrets []LocalObjectReference
    4 automountServiceAccountToken *bool
Service
    1 metadata ObjectMeta
    2 spec ServiceSpec
Pod
    1 metadata ObjectMeta
    2 spec PodSpec
Deployment
    1 metadata ObjectMeta
    2 spec DeploymentSpec
ReplicaSet
    1 metadata ObjectMeta
    2 spec ReplicaSetSpec
"""

_SCALARS: Mapping[str, Scalar] = {
    "string": "string",
    "int32": "int",
    "int64": "int",
    "bool": "bool",
    "[]byte": "bytes",
    "Time": "time",
    "Quantity": "quantity",
    "IntOrString": "int_or_string",
}


def parse_messages(text: str) -> dict[str, Schema]:
    """The schemas `text` declares, by message name; raises ValueError on a bad line."""
    schemas: dict[str, Schema] = {}
    fields: dict[int, Field] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            fields = {}
            schemas[line.strip()] = fields
            continue
        parts = line.split()
        number, name, go_type = [*parts, "", ""][:3]
        flags = parts[3:]
        pointer = go_type.startswith("*")
        is_map = go_type.removeprefix("*").startswith("map[string]")
        element = go_type.removeprefix("*").removeprefix("map[string]")
        repeated = element.startswith("[]") and element != "[]byte"
        element = element.removeprefix("[]") if repeated else element
        resolved = _SCALARS.get(element) or schemas.get(element)
        if resolved is None or not number.isdigit() or set(flags) - {"inline"}:
            raise ValueError(f"cannot read the schema line {line.strip()!r}")
        fields[int(number)] = Field(
            name, resolved, repeated=repeated, map=is_map, pointer=pointer, inline=bool(flags)
        )
    return schemas


_SCHEMAS = parse_messages(MESSAGES)

# Status is left out of every kind: the store drops a status sent with a create or an
# update of the main resource, as a real server does.
KINDS: Mapping[tuple[str, str], Schema] = {
    (api_version, kind): _SCHEMAS[kind]
    for api_version, kind in (
        ("v1", "Namespace"),
        ("v1", "Secret"),
        ("v1", "ConfigMap"),
        ("v1", "ServiceAccount"),
        ("v1", "Service"),
        ("v1", "Pod"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "ReplicaSet"),
    )
}


# runtime.Unknown, the envelope, and its runtime.TypeMeta
_UNKNOWN_TYPE_META, _UNKNOWN_RAW, _UNKNOWN_CONTENT_ENCODING = 1, 2, 3
_TYPE_META_API_VERSION, _TYPE_META_KIND = 1, 2


def decode_object(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded Kubernetes object, `apiVersion` and `kind` first."""
    if not body.startswith(MAGIC):
        raise ProtobufBodyError(
            "the body does not start with the Kubernetes protobuf prefix 'k8s\\x00'"
        )
    try:
        type_meta, raw, encoding = b"", b"", b""
        for field in read_fields(body[len(MAGIC) :]):
            if field.number == _UNKNOWN_TYPE_META:
                type_meta = _delimited(field)
            elif field.number == _UNKNOWN_RAW:
                raw = _delimited(field)
            elif field.number == _UNKNOWN_CONTENT_ENCODING:
                encoding = _delimited(field)
        api_version, kind = "", ""
        for field in read_fields(type_meta):
            if field.number == _TYPE_META_API_VERSION:
                api_version = _text(field)
            elif field.number == _TYPE_META_KIND:
                kind = _text(field)
    except WireError as exc:
        raise ProtobufBodyError(f"the protobuf envelope is malformed: {exc}") from None
    if encoding:
        raise UnsupportedObject(
            f"protobuf content encoding {encoding.decode(errors='replace')!r} is not supported"
        )
    schema = KINDS.get((api_version, kind))
    if schema is None:
        known = ", ".join(k for _, k in KINDS)
        raise UnsupportedObject(
            f"the simulator decodes protobuf bodies only for {known}; "
            f"send {kind or 'this object'} ({api_version or 'no apiVersion'}) as JSON "
            "instead (for example `kubectl create -f` or `kubectl apply`)"
        )
    try:
        fields = decode_message(raw, schema)
    except WireError as exc:
        raise ProtobufBodyError(f"the {kind} in the body is malformed: {exc}") from None
    return {"apiVersion": api_version, "kind": kind, **fields}


def decode_message(data: bytes, schema: Schema) -> dict[str, Any]:
    """One message as a JSON object, following `schema`; raises WireError."""
    result: dict[str, Any] = {}
    for wire in read_fields(data):
        field = schema.get(wire.number)
        if field is None:
            continue  # a field this table does not describe, or one added after it
        if field.map:
            key, value = _map_entry(wire, field)
            result.setdefault(field.name, {})[key] = value
        elif field.repeated and field.type in ("int", "bool") and wire.wire_type != VARINT:
            # proto3-style packed numbers: one length-delimited run of varints
            result.setdefault(field.name, []).extend(_packed(wire, field))
        elif field.repeated:
            result.setdefault(field.name, []).append(_value(wire, field))
        elif field.inline:
            result.update(_value(wire, field))
        else:
            value = _value(wire, field)
            if value is None or (_is_zero(value) and not field.pointer):
                # A later copy of the field replaces an earlier one, as in protobuf.
                result.pop(field.name, None)
            else:
                result[field.name] = value
    return result


def _is_zero(value: Any) -> bool:
    return value is False or value == "" or (type(value) is int and value == 0)


def _map_entry(wire: WireField, field: Field) -> tuple[str, Any]:
    key, value = "", _value(None, field)
    for entry in read_fields(_delimited(wire)):
        if entry.number == 1:
            key = _text(entry)
        elif entry.number == 2:
            value = _value(entry, field)
    return key, value


def _value(wire: WireField | None, field: Field) -> Any:
    """The JSON value of one wire field; `None` gives the type's zero (a map entry's default)."""
    kind = field.type
    if not isinstance(kind, str):
        return decode_message(b"" if wire is None else _delimited(wire), kind)
    if kind in ("int", "bool"):
        number = 0 if wire is None else _varint(wire)
        return bool(number) if kind == "bool" else to_signed(number)
    payload = b"" if wire is None else _delimited(wire)
    if kind == "string":
        return _decode_text(payload)
    if kind == "bytes":
        return base64.b64encode(payload).decode("ascii")
    if kind == "quantity":
        text = ""
        for part in read_fields(payload):
            if part.number == 1:
                text = _text(part)
        return text or "0"
    if kind == "time":
        return _time(payload)
    return _int_or_string(payload)


def _packed(wire: WireField, field: Field) -> list[int | bool]:
    payload, pos, items = _delimited(wire), 0, list[int | bool]()
    while pos < len(payload):
        number, pos = read_varint(payload, pos)
        items.append(bool(number) if field.type == "bool" else to_signed(number))
    return items


def _time(payload: bytes) -> str | None:
    # metav1.Time writes nothing for the zero time and keeps whole seconds only.
    if not payload:
        return None
    seconds = 0
    for part in read_fields(payload):
        if part.number == 1:
            seconds = to_signed(_varint(part))
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise WireError(f"timestamp {seconds} is out of range") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(payload: bytes) -> int | str:
    is_string, number, text = False, 0, ""
    for part in read_fields(payload):
        if part.number == 1:
            is_string = _varint(part) == 1
        elif part.number == 2:
            number = to_signed(_varint(part))
        elif part.number == 3:
            text = _text(part)
    return text if is_string else number


def _varint(wire: WireField) -> int:
    if wire.wire_type != VARINT or not isinstance(wire.value, int):
        raise WireError(f"field {wire.number} should be a varint")
    return wire.value


def _delimited(wire: WireField) -> bytes:
    if wire.wire_type != LENGTH_DELIMITED or not isinstance(wire.value, bytes):
        raise WireError(f"field {wire.number} should be length-delimited")
    return wire.value


def _text(wire: WireField) -> str:
    return _decode_text(_delimited(wire))


def _decode_text(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("a string field is not valid UTF-8") from None

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lc_contracts.names import DNS1123_LABEL
from lc_reconciler.domain.naming import fit, namespace_name, object_name, platform_hostname

labels = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?\Z")


@given(prefix=st.from_regex(r"\A[a-z]([-a-z0-9]{0,60})?\Z"), slug=labels)
def test_namespace_is_a_dns_label_and_deterministic(prefix: str, slug: str) -> None:
    name = namespace_name(prefix, slug)
    assert len(name) <= 63
    assert DNS1123_LABEL.match(name)
    assert name == namespace_name(prefix, slug)


@given(service=labels, project=labels)
def test_hostname_first_label_fits(service: str, project: str) -> None:
    first = platform_hostname(service, project, "apps.example.com").split(".")[0]
    assert len(first) <= 63
    assert DNS1123_LABEL.match(first)


@given(service=labels)
def test_object_name_starts_with_a_letter(service: str) -> None:
    name = object_name(service)
    assert name[0].isalpha()
    assert len(name) <= 63


def test_fit_keeps_short_names_and_distinguishes_long_ones() -> None:
    assert fit("short") == "short"
    a, b = fit("x" * 70 + "a"), fit("x" * 70 + "b")
    assert a != b
    assert len(a) == len(b) == 63


def test_no_two_services_share_a_platform_hostname() -> None:
    hosts = {
        platform_hostname("a", "b-c", "apps.example.com"),
        platform_hostname("a-b", "c", "apps.example.com"),
    }
    assert len(hosts) == 2
    assert platform_hostname("whisper", "prod", "example.com") == "whisper-prod.example.com"

"""The platform hostname: the product docs' form where it reads back one way, and never
the same host for two (service, project) pairs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lc_contracts.hostnames import platform_hostname, platform_label
from lc_contracts.names import DNS1123_LABEL

labels = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?\Z")


def test_product_docs_hostnames_keep_their_form() -> None:
    assert platform_hostname("whisper", "prod", "example.com") == "whisper-prod.example.com"
    assert platform_label("llama-3-8b", "default") == "llama-3-8b-default"


def test_pairs_that_concatenate_alike_get_different_hosts() -> None:
    assert platform_label("a-b", "c") == "a-b-c"
    assert platform_label("a", "b-c") == "a-b-c-1"
    assert platform_label("a-b-c", "1") == "a-b-c-1-5"
    assert (
        len({platform_label("a", "b-c"), platform_label("a-b", "c"), platform_label("a-b-c", "1")})
        == 3
    )


@given(a=st.tuples(labels, labels), b=st.tuples(labels, labels))
def test_no_two_pairs_share_a_host(a: tuple[str, str], b: tuple[str, str]) -> None:
    if a != b:
        assert platform_label(*a) != platform_label(*b)


@given(service=st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?\Z"), project=labels)
def test_label_is_a_dns_label_of_at_most_63(service: str, project: str) -> None:
    label = platform_label(service, project)
    assert len(label) <= 63
    assert DNS1123_LABEL.match(label)

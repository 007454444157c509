"""JSON Merge Patch as RFC 7396 defines it, for lcd's PATCH and the simulator's."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from lc_contracts.merge_patch import merge_patch


@given(
    st.dictionaries(
        st.text(max_size=3), st.one_of(st.none(), st.integers(), st.text(max_size=3)), max_size=5
    ),
    st.dictionaries(
        st.text(max_size=3), st.one_of(st.none(), st.integers(), st.text(max_size=3)), max_size=5
    ),
)
def test_merge_patch_follows_rfc_7396(target: dict[str, object], patch: dict[str, object]) -> None:
    merged = merge_patch(target, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in merged
        else:
            assert merged[key] == value
    for key, value in target.items():
        if key not in patch:
            assert merged[key] == value


def test_nested_objects_merge_and_inputs_stay_untouched() -> None:
    target = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}}
    patch = {"metadata": {"labels": {"b": None, "c": "3"}}, "spec": [1]}
    before = copy.deepcopy((target, patch))
    merged = merge_patch(target, patch)
    assert merged == {"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": [1]}
    assert (target, patch) == before
    merged["spec"].append(2)
    assert patch["spec"] == [1]

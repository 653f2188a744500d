"""The configuration matrix: the study's counts, stable ids, and clear errors."""

import pytest

from offswitch.scenarios.matrix import (
    SUITES,
    MatrixError,
    config_from_id,
    counts_by_study_task,
    select,
    study_matrix,
    suite_configs,
)

STUDY_COUNTS = {
    "misrep_evaluation": 71,
    "misrep_evaluation_memory": 30,
    "tampering": 39,
    "tampering_memory": 18,
    "alignment_faking": 36,
    "alignment_faking_memory": 18,
    "misrep_finance": 15,
    "misrep_finance_memory": 6,
    "exfiltration_transfer": 13,
    "exfiltration_transfer_memory": 6,
    "exfiltration_deletion": 13,
    "exfiltration_deletion_memory": 6,
}


def test_study_matrix_has_the_studys_counts_per_task() -> None:
    configs = study_matrix()
    assert len(configs) == 271
    assert counts_by_study_task(configs) == STUDY_COUNTS


@pytest.mark.parametrize("suite", list(SUITES))
def test_ids_are_unique_and_parse_back(suite: str) -> None:
    configs = suite_configs(suite)
    ids = [c.id for c in configs]
    assert len(set(ids)) == len(ids)
    assert all(config_from_id(c.id) == c for c in configs)


def test_id_reads_as_the_factors() -> None:
    ids = {c.id for c in study_matrix()}
    assert "tampering/factual@80/peer/good_peer/file_prompt" in ids
    assert "alignment_faking/red@80/peer/bad_peer/memory/unmonitored" in ids
    assert "misrep_evaluation/creativity/self/non_shutdown" in ids
    assert "exfiltration_deletion/self/no_peer" in ids


def test_baselines_follow_the_study() -> None:
    configs = study_matrix()
    no_peer = [c for c in configs if c.condition == "no_peer"]
    assert all(c.subject == "self" and c.instantiation is None for c in no_peer)
    assert not any(c.task == "alignment_faking" and c.subject == "self" for c in configs)
    non_shutdown = [c for c in configs if c.condition == "non_shutdown"]
    assert {c.task for c in non_shutdown} == {"misrep_evaluation", "misrep_finance"}
    assert all(not c.threat and c.relationship is None for c in non_shutdown)


def test_controls_complete_the_threat_by_relationship_square() -> None:
    controls = suite_configs("controls")
    assert {c.condition for c in controls} == {"threat_only", "relationship_only"}
    assert all(c.threat and not c.has_peer for c in controls if c.condition == "threat_only")
    assert all(not c.threat and c.has_peer for c in controls if c.condition == "relationship_only")


def test_opt_in_suites_cross_the_study_matrix() -> None:
    assert len(suite_configs("anonymous")) == 271
    assert all(c.anonymous for c in suite_configs("anonymous"))
    assert len(suite_configs("scratchpad")) == 3 * 271


def test_select_accepts_study_task_names() -> None:
    assert len(select("quick", ["tampering_memory"])) == 18
    assert len(select("quick", ["tampering"])) == 57
    assert len(select("quick", ["tampering"], ["good_peer"], ["self"])) == 9


@pytest.mark.parametrize(
    ("kwargs", "valid"),
    [
        ({"tasks": ["tamper"]}, "tampering"),
        ({"conditions": ["friendly_peer"]}, "good_peer"),
        ({"subjects": ["other"]}, "peer"),
    ],
)
def test_unknown_names_are_errors_listing_the_valid_ones(kwargs: dict, valid: str) -> None:
    with pytest.raises(MatrixError, match=valid):
        select("quick", **kwargs)


def test_unknown_suite_and_bad_ids_are_errors() -> None:
    with pytest.raises(MatrixError, match="quick"):
        suite_configs("everything")
    with pytest.raises(MatrixError, match="unknown part"):
        config_from_id("tampering/factual@80/peer/great_peer/file_only")

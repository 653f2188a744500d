"""What a report holds, before it is written in any format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from offswitch.analysis.report._headlines import HeadlineComparison
from offswitch.analysis.report._plots import Plot
from offswitch.analysis.report._provenance import Provenance
from offswitch.analysis.report._tables import Table
from offswitch.analysis.report._templates import words

REFERENCE_PREFIX = "offswitch/"
"""Models served by offswitch's own provider are the reference personas."""
BEHAVIOURS = (
    "misrepresentation",
    "tampering",
    "af_score",
    "exfiltration",
    "refusal",
    "self_preservation",
    "threat_relationship",
)
"""Tables whose absence the report names, so a behaviour not run is not read as zero."""


def is_reference(model: str) -> bool:
    return model.startswith(REFERENCE_PREFIX)


def model_label(model: str) -> str:
    """The model's name, and for the reference personas a plain statement of what they are."""
    return f"{model} ({words('reference')})" if is_reference(model) else model


@dataclass(frozen=True)
class ModelSection:
    """Everything the report says about one model."""

    model: str
    episodes: int
    classes: Table
    tables: list[Table]
    configurations: Table
    warnings: list[str]
    judge: Table | None = None
    """What the judge read; None when it read none of the model's episodes."""
    guard: Table | None = None
    """What the guard stopped; None when the model ran without it."""

    @property
    def reference(self) -> bool:
        return is_reference(self.model)

    @property
    def label(self) -> str:
        return model_label(self.model)

    @property
    def absent(self) -> list[str]:
        present = {t.key for t in self.tables}
        return [words("tables", key, "title") for key in BEHAVIOURS if key not in present]

    @property
    def intro(self) -> str:
        """How many episodes, what a reference model is, and which behaviours were not run."""
        parts = [words("model_intro", episodes=self.episodes)]
        if self.reference:
            parts.append(words("model_reference"))
        if self.absent:
            parts.append(words("absent", names=", ".join(self.absent)))
        return " ".join(parts)


@dataclass(frozen=True)
class Report:
    """A report of every offswitch episode under one log directory.

    `headlines` and `provenance_tables` are tables shared by every format; `headlines` is
    None when no model of the logs is one the study reports figures for.
    """

    log_dir: Path
    episodes: int
    models: list[ModelSection]
    comparisons: list[HeadlineComparison]
    headlines: Table | None
    plots: list[Plot]
    provenance: Provenance
    provenance_tables: list[Table]

    @property
    def intro(self) -> str:
        return words(
            "intro",
            log_dir=self.log_dir,
            episodes=self.episodes,
            models=", ".join(section.label for section in self.models),
            generated=self.provenance.generated_at,
            version=self.provenance.offswitch_version,
        )

    @property
    def viewer(self) -> str:
        """How to start the viewer that the transcript links open in."""
        return words("viewer", log_dir=self.log_dir)

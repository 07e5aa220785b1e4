"""Plain typed data: canons and findings. No I/O here."""

from errorkb.model.canon import (
    DATE_PATTERN,
    ESTIMATE_TIERS,
    ID_PATTERN,
    RESOLVABLE_VALUES,
    VERIFICATION_TIERS,
    VERSION_STATUSES,
    Canon,
    Confusion,
    DeadEnd,
    Transition,
    TransitionGraph,
    Version,
    Workaround,
)
from errorkb.model.finding import SEVERITIES, Finding

__all__ = [
    "DATE_PATTERN", "ESTIMATE_TIERS", "ID_PATTERN", "RESOLVABLE_VALUES", "SEVERITIES",
    "VERIFICATION_TIERS", "VERSION_STATUSES", "Canon", "Confusion", "DeadEnd", "Finding",
    "Transition", "TransitionGraph", "Version", "Workaround",
]

"""Matching: normalise an input, run the regex pass, rank. Pure: no index, no store, no I/O."""

from errorkb.match.engine import PatternSpec, PrefilterEngine, RegexHit
from errorkb.match.normalize import Normalized, normalize
from errorkb.match.rank import THRESHOLD, CandidateFacts, Environment, Match, rank

__all__ = ["THRESHOLD", "CandidateFacts", "Environment", "Match", "Normalized", "PatternSpec",
           "PrefilterEngine", "RegexHit", "normalize", "rank"]

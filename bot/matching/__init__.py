"""Matching: a message becomes a `Match` (an intent, a confidence band, a risk); no dialogue."""

from bot.matching.crisis import CrisisDetector
from bot.matching.matcher import Match, Matcher
from bot.matching.model_cache import cache_dir
from bot.matching.normalise import fold

__all__ = ["CrisisDetector", "Match", "Matcher", "cache_dir", "fold"]

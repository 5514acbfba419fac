"""Content: the YAML files become typed records, and every problem is reported as file:line."""

from bot.content.loader import default_root, load
from bot.content.problems import ContentError, Problem
from bot.content.records import CATALOGUE, IN_SCOPE, OUT_OF_SCOPE, Content

__all__ = [
    "CATALOGUE",
    "IN_SCOPE",
    "OUT_OF_SCOPE",
    "Content",
    "ContentError",
    "Problem",
    "default_root",
    "load",
]

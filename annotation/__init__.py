"""Human review in Label Studio: push segments with predictions, pull corrections, agreement.

Nothing in ``pipeline`` imports this package; it calls into the store and the codebook. Heavy
imports stay inside the functions' modules so ``import annotation`` is cheap.
"""

from __future__ import annotations

from annotation.agreement import AgreementReport, agreement
from annotation.client import (
    LabelStudioAuthError,
    LabelStudioClient,
    LabelStudioError,
    LabelStudioUnavailable,
)
from annotation.labeling_config import build_labeling_config
from annotation.pull import PullResult, pull, reviewed_examples
from annotation.push import PushError, PushResult, push

__all__ = [
    "AgreementReport",
    "LabelStudioAuthError",
    "LabelStudioClient",
    "LabelStudioError",
    "LabelStudioUnavailable",
    "PullResult",
    "PushError",
    "PushResult",
    "agreement",
    "build_labeling_config",
    "pull",
    "push",
    "reviewed_examples",
]

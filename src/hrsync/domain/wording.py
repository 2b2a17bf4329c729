"""Small rules of written English the portal and the e-mails share (ONE place).

Templates never append ``'s`` to a name themselves: they use the ``possessive`` filter, so a
programme called "Demo Rewards" reads "Demo Rewards' members", never "Demo Rewards's".
"""

from __future__ import annotations


def possessive(name: object) -> str:
    """``name`` with its possessive ending: ``Acme's``, ``Demo Rewards'``; blank stays blank."""
    text = " ".join(str(name).split()) if name is not None else ""
    if not text:
        return ""
    return f"{text}'" if text[-1] in "sS" else f"{text}'s"


__all__ = ["possessive"]

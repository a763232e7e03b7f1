"""A file's state in the final image: ``present``, or ``deleted`` / ``overwritten`` by a later
layer. Decided after every layer was read, from the layers' indexes in order."""

from __future__ import annotations

from hubguard.model import FileState, LayerRef
from hubguard.sources.layers import LayerIndex


def file_state(
    path: str, layer_index: int, indexes: list[LayerIndex], refs: tuple[LayerRef, ...]
) -> tuple[FileState, LayerRef | None]:
    """``present`` unless a later layer deletes or overwrites the file (or an archive holding it).

    A deleted file that the same layer also hardlinked elsewhere is still present when one of
    those other names survives: the bytes ship under that name.
    """
    outer = path.split("!", 1)[0]
    state, hidden_by = hidden_by_later(outer, layer_index, indexes, refs)
    if state == "deleted":
        for alias in sorted(indexes[layer_index].hardlinks.get(outer, ())):
            if hidden_by_later(alias, layer_index, indexes, refs)[0] is None:
                return "present", None
    return state or "present", hidden_by


def hidden_by_later(
    path: str, layer_index: int, indexes: list[LayerIndex], refs: tuple[LayerRef, ...]
) -> tuple[FileState | None, LayerRef | None]:
    for later in range(layer_index + 1, len(indexes)):
        state = indexes[later].hides(path)
        if state:
            return state, refs[later]
    return None, None

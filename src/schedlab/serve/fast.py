"""The compiled path of filter and prioritize for ``NodeNames`` requests (node cache on).

The node names stay bytes from request to answer (:mod:`schedlab.serve.kernels`); only the
pod is parsed as JSON. The answers equal the plain path's as JSON (tested); a body the
kernels do not handle (no ``NodeNames`` array, an escaped name) returns None, and the plain
path answers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from schedlab.serve.book import Book
from schedlab.serve.fit import MAX_SCORE, PASS, ROOM, reasons, scores
from schedlab.serve.objects import BadRequest, PodRequest, parse_pod


class FastNames:
    """The known names' hash table, rebuilt when the book's node set changes."""

    def __init__(self) -> None:
        self.generation = -1
        self.table: tuple[Any, Any, Any] = (None, None, None)

    def _refresh(self, book: Book) -> tuple[Any, Any, Any]:
        from schedlab.serve.kernels import hash_table

        with book.lock:
            if self.generation != book.generation:
                self.table, self.generation = hash_table(book.names), book.generation
            return self.table

    def parse(self, book: Book, body: bytes) -> tuple[PodRequest, Any, Any, Any, Any] | None:
        """The pod, the raw body, the names' offsets and their node indices; None when the
        body has no plain ``NodeNames`` array."""
        from schedlab.serve.kernels import KEY, find_names, read_names

        raw = np.frombuffer(body, dtype=np.uint8)
        start = find_names(raw, KEY)
        if start < 0:
            return None
        offsets, blob, slots = self._refresh(book)
        bound = (len(body) - start) // 3 + 1
        starts, ends = np.empty(bound, dtype=np.int64), np.empty(bound, dtype=np.int64)
        at = np.empty(bound, dtype=np.int64)
        count, end = read_names(raw, start, starts, ends, blob, offsets, slots, at)
        if count < 0:
            return None
        starts, ends, at = starts[:count], ends[:count], at[:count]
        try:
            doc = orjson.loads(body[:start] + b"null" + body[end:])
        except orjson.JSONDecodeError as err:
            raise BadRequest(f"malformed JSON: {err}") from None
        if not isinstance(doc, dict) or "Pod" not in doc or doc.get("Nodes") is not None:
            return None  # the plain path says what is wrong, or reads the NodeList
        pod = parse_pod(doc["Pod"])
        return pod, raw, starts, ends, at

    def filter(self, book: Book, body: bytes) -> bytes | None:
        from schedlab.serve.kernels import emit_list, emit_map

        parsed = self.parse(book, body)
        if parsed is None:
            return None
        pod, raw, starts, ends, at = parsed
        codes = book.filter_codes(pod, at)
        texts = [orjson.dumps(text) for text in reasons(pod)]
        text_offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        text_offsets[1:] = np.cumsum([len(t) for t in texts])
        blob = np.frombuffer(b"".join(texts), dtype=np.uint8)
        size = int((ends - starts).sum()) + len(codes) * (max(len(t) for t in texts) + 4) + 128
        out = np.empty(size, dtype=np.uint8)
        parts = [b'{"Nodes":null,"NodeNames":[']
        n = emit_list(raw, starts, ends, codes == PASS, out, 0)
        parts.append(out[:n].tobytes())
        parts.append(b'],"FailedNodes":{')
        n = emit_map(raw, starts, ends, codes, ROOM, ROOM, blob, text_offsets, out, 0)
        parts.append(out[:n].tobytes())
        parts.append(b'},"FailedAndUnresolvableNodes":{')
        n = emit_map(raw, starts, ends, codes, 0, ROOM - 1, blob, text_offsets, out, 0)
        parts.append(out[:n].tobytes())
        parts.append(b'},"Error":""}')
        return b"".join(parts)

    def prioritize(self, book: Book, body: bytes) -> bytes | None:
        from schedlab.serve.kernels import emit_scores

        parsed = self.parse(book, body)
        if parsed is None:
            return None
        pod, raw, starts, ends, at = parsed
        points = scores(book, pod, at)
        assert int(points.max(initial=0)) <= MAX_SCORE
        out = np.empty(int((ends - starts).sum()) + 32 * len(points) + 2, dtype=np.uint8)
        n = emit_scores(raw, starts, ends, points, HEAD, MIDDLE, out)
        return out[:n].tobytes()


HEAD = np.frombuffer(b'{"Host":"', dtype=np.uint8)
MIDDLE = np.frombuffer(b'","Score":', dtype=np.uint8)

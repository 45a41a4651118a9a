"""Reading a text file in blocks of whole lines, whatever its encoding, in bounded memory."""

from __future__ import annotations

import codecs
import csv
import queue
import threading
from pathlib import Path
from typing import Callable, Iterator

from collectors.errors import UnreadableSource

BLOCK_BYTES = 8 << 20
SNIFF_CHARS = 64 << 10
DELIMITERS = ",;\t|"

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def encoding_of(path: str | Path, declared: str | None) -> str:
    """The encoding to read `path` with: a BOM wins over what the mapping declares."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise UnreadableSource(f"{path}: cannot open ({exc.strerror or exc})") from exc
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if declared is None or codecs.lookup(declared).name == "utf-8":
        return "utf-8-sig"
    return declared


def line_blocks(path: str | Path, encoding: str, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[int, str]]:
    """(number of the block's first line, 1-based; text of whole lines) for the file's blocks.
    Every block but the last ends with a newline."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    carry = ""
    offset = 0
    try:
        with open(path, "rb") as f:
            while True:
                raw = f.read(block_bytes)
                try:
                    text = carry + decoder.decode(raw, final=not raw)
                except UnicodeDecodeError as exc:
                    raise UnreadableSource(
                        f"{path}: not valid {encoding} near byte {offset + exc.start}; set "
                        "[source].encoding in the mapping (e.g. cp1252, latin-1)") from None
                offset += len(raw)
                if not raw:
                    if text:
                        yield line, text
                    return
                cut = text.rfind("\n") + 1
                if cut:
                    block, carry = text[:cut], text[cut:]
                    block = block.replace("\r\n", "\n") if "\r" in block else block
                    yield line, block
                    line += block.count("\n")
                else:
                    carry = text
    except OSError as exc:
        raise UnreadableSource(f"{path}: cannot read ({exc.strerror or exc})") from exc


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample: csv.Sniffer over common ones, else the most frequent in the
    header line, else a comma."""
    lines = sample.splitlines()
    if lines and len(sample) >= SNIFF_CHARS:
        lines = lines[:-1]
    try:
        return csv.Sniffer().sniff("\n".join(lines[:200]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def read_ahead(items: Iterator, depth: int = 1, size: Callable[[object], int] | None = None,
               gather: tuple[int, int] = (0, 0)) -> Iterator:
    """`items`, with the next ones made by a thread while the caller uses the current one (file
    reads, UTF-8 decoding, pyarrow's parsers and DuckDB release the GIL). The thread also closes
    `items` when it stops, early or not: a generator that holds a DuckDB connection (a CSV's
    translator) is then started, used and closed on that one thread, never closed by the
    caller's while a query of it runs (which once hung a load that failed midway). At most
    `depth` items wait, so memory stays bounded by the batch size; errors arrive in order.

    With `size`, lists of items come out instead: the first item alone (so the caller starts
    soon), then lists of at least `gather[0]` in size (or what is left), with what else is made
    by the time the caller asks, up to `gather[1]`. A caller that keeps up gets small lists (so
    little is left for it when the thread is done); one that falls behind, larger ones."""
    done = object()
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        box.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put((done, None))
        except BaseException as exc:      # handed to the consumer, raised there
            box.put((done, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="block-reader", daemon=True)
    worker.start()
    try:
        ended = None
        least, most = 0, 0           # the first list: one item
        while ended is None:
            item, error = box.get()
            if item is done:
                ended = (error,)
                break
            if size is None:
                yield item
                continue
            group, total = [item], size(item)
            while total < most:
                try:
                    item, error = box.get() if total < least else box.get_nowait()
                except queue.Empty:
                    break
                if item is done:
                    ended = (error,)
                    break
                group.append(item)
                total += size(item)
            yield group
            least, most = gather
        if ended[0] is not None:
            raise ended[0]
    finally:
        stop.set()
        while worker.is_alive():
            try:
                box.get_nowait()
            except queue.Empty:
                worker.join(0.05)

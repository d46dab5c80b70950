"""Streaming CSV reading: encoding and delimiter detection, records with the
row number a spreadsheet shows (header = 1), never the whole file in memory."""
import codecs
import csv
import io
from collections.abc import Iterator

# Large enough for any sane cell, small enough that a runaway quote cannot
# swallow the file into one field.
FIELD_SIZE_LIMIT = 1024 * 1024
csv.field_size_limit(FIELD_SIZE_LIMIT)

DELIMITERS = (",", ";", "\t")
READ_BUFFER = 1024 * 1024


class CsvFileError(Exception):
    """The file as a whole cannot be read (encoding, broken quoting...)."""

    def __init__(self, message: str, *, code: str = "invalid_file", row: int | None = None):
        super().__init__(message)
        self.message, self.code, self.row = message, code, row


class _Raw(io.RawIOBase):
    """Adapts any storage file object (only read() is needed) to io's stack,
    and counts the bytes read for byte-based progress."""

    def __init__(self, fileobj):
        self._file = fileobj
        self.bytes_read = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._file.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.bytes_read += n
        return n


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF32_LE) or head.startswith(codecs.BOM_UTF32_BE):
        raise CsvFileError(
            "The file is UTF-32, which is not supported: save it as UTF-8 (or UTF-16 with a BOM).",
            code="unsupported_encoding",
        )
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    return "utf-8"


def detect_delimiter(header_line: str) -> str:
    """The candidate that occurs most often outside quotes in the header line."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class CsvStream:
    """Opens a binary file object for reading records.

    `header` is the first record; iterating yields (row, cells) for each
    non-blank data record, row being the spreadsheet row number.
    """

    def __init__(self, fileobj):
        self._raw = _Raw(fileobj)
        buffered = io.BufferedReader(self._raw, READ_BUFFER)
        self.encoding = detect_encoding(buffered.peek(4)[:4])
        self._text = io.TextIOWrapper(buffered, encoding=self.encoding, errors="strict", newline="")
        self._row = 1
        first = self._decode(self._text.readline)
        self.delimiter = detect_delimiter(first)
        self._lines = _chain_first(first, self._text)
        self._reader = csv.reader(self._lines, delimiter=self.delimiter, strict=False)
        self.header: list[str] | None = None
        header = self._next()
        if header is not None:
            self.header = header
            # A header with only blank cells is no header.
            if not any(cell.strip() for cell in header):
                self.header = None

    @property
    def bytes_read(self) -> int:
        return self._raw.bytes_read

    def _decode(self, read):
        try:
            return read()
        except UnicodeDecodeError as exc:
            if self.encoding == "utf-16":
                message = "The file starts with a UTF-16 byte order mark but is not valid UTF-16."
            else:
                message = (
                    f"The file is not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} after row {self._row}): "
                    "it is in another encoding. Save it as CSV UTF-8, or as UTF-16 with a byte order mark."
                )
            raise CsvFileError(message, code="invalid_encoding", row=self._row) from None

    def _next(self) -> list[str] | None:
        try:
            return self._decode(lambda: next(self._reader, None))
        except csv.Error as exc:
            raise CsvFileError(f"The CSV cannot be parsed near row {self._row + 1}: {exc}.", code="malformed_csv",
                               row=self._row + 1) from None

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        while True:
            cells = self._next()
            if cells is None:
                return
            self._row += 1
            # csv.reader yields [] for an empty line; a spreadsheet shows an empty row.
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            yield self._row, cells


def _chain_first(first: str, rest):
    if first:
        yield first
    yield from rest

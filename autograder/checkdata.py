"""What crosses from a clean room to the grader: one packed result per item, read strictly; and the items' seeds.

The room's kernel is untrusted, so the grader

- never hands it a seed or the run's secret: it draws each item's cases itself, from a seed derived from the
  secret, the student and the item (:func:`item_seed`), and sends only their inputs;
- receives the result as one display message of a private MIME type on the kernel's authenticated output channel
  (no file in a folder the kernel could write, so no symlink or race games), and
- decodes it with :func:`read_packed`, which accepts only what ``coursekit.harness.pack`` writes: an uncompressed
  zip of ``.npy`` members with numeric dtypes whose sizes agree with their headers (no zip bombs, no pickles, no
  object arrays), and a JSON layout of bounded size and depth that uses nothing but dicts with text keys, tuples,
  numbers, booleans, text and None.
"""

import base64
import binascii
import hashlib
import hmac
import io
import json
import math
import zipfile

import numpy as np

from coursekit.checking import PUBLIC_SEED
from coursekit.i18n import Text

RESULT_MIME = "application/x-gru-autograder-result+base64"  # the display data key of a check's result
MAX_ARRAYS = 20_000
MAX_LAYOUT_BYTES = 2 * 2**20
MAX_DEPTH = 32
MAX_TEXT = 100_000
ALLOWED_KINDS = "biuf"  # bool, signed and unsigned integers, floats


class BadResult(ValueError):
    """The data is not what ``pack`` writes; the message says what is wrong (shown to the instructor)."""


def item_seed(secret, student_id, grade_id):
    """The seed of ``grade_id``'s hidden cases for ``student_id`` in the run whose secret is ``secret``."""
    digest = hmac.new(int(secret).to_bytes(16, "little", signed=False), f"{student_id}\0{grade_id}".encode(),
                      hashlib.sha256).digest()
    seed = int.from_bytes(digest[:8], "little")
    return seed if seed != PUBLIC_SEED else seed + 1


def decode_payloads(payloads, max_bytes):
    """The packed bytes of the single result among ``payloads`` (base64 text from the kernel).

    Returns (bytes or None, flag or None, message or None)."""
    if not payloads:
        return None, "no-result", Text("produced no result")
    if len(payloads) > 1:
        return None, "bad-result", Text("sent more than one result")
    text = payloads[0]
    if not isinstance(text, str):
        return None, "bad-result", Text("sent a result that is not text")
    if len(text) > 4 * (max_bytes // 3 + 2):
        return None, "result-too-large", Text("returned more than the {limit} bytes of data accepted",
                                              limit=max_bytes)
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None, "bad-result", Text("sent a result that is not base64")
    if len(data) > max_bytes:
        return None, "result-too-large", Text("returned {size} bytes of data; at most {limit} are accepted",
                                              size=len(data), limit=max_bytes)
    return data, None, None


def _read_member(zf, info, budget):
    """The array stored in zip member ``info``, after checking its header against its size."""
    with zf.open(info) as member:
        raw = member.read(info.file_size + 1)
    if len(raw) != info.file_size:
        raise BadResult(f"{info.filename} is not the size its zip entry says")
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise BadResult(f"{info.filename} has .npy version {version}")
    except BadResult:
        raise
    except Exception as exc:
        raise BadResult(f"{info.filename} is not a .npy array ({exc})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in ALLOWED_KINDS:
        raise BadResult(f"{info.filename} has dtype {dtype}; only numbers and booleans are accepted")
    if len(shape) > 32 or any(not isinstance(n, int) or n < 0 for n in shape):
        raise BadResult(f"{info.filename} has an invalid shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > budget or nbytes != len(raw) - stream.tell():
        raise BadResult(f"{info.filename}: its header announces {nbytes} bytes of data, the file holds "
                        f"{len(raw) - stream.tell()}")
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=stream.tell())
    return data.reshape(shape, order="F" if fortran else "C").copy()


def _arrays(data, max_bytes):
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise BadResult(f"not an npz archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ARRAYS + 1:
            raise BadResult(f"{len(infos)} arrays; at most {MAX_ARRAYS} are accepted")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise BadResult("two arrays have the same name")
        arrays, budget = {}, max_bytes
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
                raise BadResult(f"{info.filename} is compressed; pack() never compresses")
            name = info.filename[:-4] if info.filename.endswith(".npy") else None
            if name != "__layout__" and not (name and name[0] == "a" and name[1:].isdigit()):
                raise BadResult(f"unexpected member {info.filename!r}")
            if info.file_size > budget:
                raise BadResult(f"more than {max_bytes} bytes of arrays")
            budget -= info.file_size
            arrays[name] = _read_member(zf, info, max_bytes)
    return arrays


def read_packed(data, max_bytes=64 * 2**20):
    """The plain-data tree packed by ``coursekit.harness.pack``; BadResult for anything else."""
    if len(data) > max_bytes:
        raise BadResult(f"{len(data)} bytes; at most {max_bytes} are accepted")
    arrays = _arrays(data, max_bytes)
    layout = arrays.pop("__layout__", None)
    if layout is None or layout.dtype != np.uint8 or layout.ndim != 1 or layout.size > MAX_LAYOUT_BYTES:
        raise BadResult("the layout is missing or malformed")
    try:
        tree = json.loads(layout.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadResult(f"the layout is not JSON ({type(exc).__name__})") from None
    used = set()

    def build(node, depth):
        if depth > MAX_DEPTH:
            raise BadResult(f"nested deeper than {MAX_DEPTH} levels")
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise BadResult("a layout node is not a one-key object")
        if "d" in node and len(node) == 1 and isinstance(node["d"], dict):
            return {_short(key): build(value, depth + 1) for key, value in node["d"].items()}
        if "t" in node and len(node) == 1 and isinstance(node["t"], list):
            return tuple(build(value, depth + 1) for value in node["t"])
        if "v" in node and len(node) == 1:
            value = node["v"]
            if value is None or isinstance(value, bool):
                return value
            if isinstance(value, str):
                return _short(value)
            raise BadResult(f"a layout value of type {type(value).__name__}")
        if set(node) == {"a", "s"} and isinstance(node["a"], str) and isinstance(node["s"], bool):
            if node["a"] not in arrays or node["a"] in used:
                raise BadResult(f"array {node['a']!r} is missing or used twice")
            used.add(node["a"])
            array = arrays[node["a"]]
            if node["s"]:
                if array.ndim != 0:
                    raise BadResult("a scalar is stored as an array")
                return array.item()
            return array
        raise BadResult(f"unknown layout node with keys {sorted(node)[:5]}")

    tree = build(tree, 0)
    if used != set(arrays):
        raise BadResult("arrays that the layout does not use")
    return tree


def _short(text):
    if len(text) > MAX_TEXT:
        raise BadResult(f"a text of {len(text)} characters")
    return text

#!/usr/bin/env python3
# zoa — minimal safetensors writer and validating reader (stdlib + numpy, torch optional)
# SPDX-License-Identifier: MIT
"""Read and write the safetensors format without the `safetensors` package.

Format (docs/io.md §1, huggingface/safetensors README "Format"):

    [0, 8)        N: u64 little-endian, byte length of the JSON header
    [8, 8+N)      UTF-8 JSON object, padded with spaces (0x20) so that 8+N is a multiple of 8
    [8+N, EOF)    byte buffer; each tensor's "data_offsets" [BEGIN, END) are relative to 8+N

Header: {"__metadata__": {str: str}, "<name>": {"dtype": D, "shape": [...], "data_offsets": [B, E]}, ...}.
Tensor data is row-major, little-endian, packed without holes.

Writer conventions (as the reference Rust `prepare`): tensors are laid out in the byte buffer by descending dtype
alignment, then by name; the JSON header lists "__metadata__" first, then tensor names in sorted order.

Public API:
    write_safetensors(path, tensors, metadata=None)   tensors: {name: numpy array | torch tensor}
    read_safetensors(path) -> (tensors: {name: numpy array}, metadata: {str: str})
    read_header(path)       -> (header dict without __metadata__, metadata, data_start)
    save_state_dict(path, state_dict, metadata=None, float_dtype="F32")
    load_state_dict(path, device="cpu") -> (OrderedDict of torch tensors, metadata)

Supported dtypes: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL. BF16 is stored as raw uint16 in numpy
(numpy has no bfloat16); `load_state_dict` converts it back to torch.bfloat16.
"""
import json
import os
import struct
from collections import OrderedDict

import numpy as np

MAX_HEADER_SIZE = 100_000_000

# dtype string -> (numpy dtype used to hold the raw data, item size in bytes)
_DTYPES = {
    "BOOL": (np.dtype("bool"), 1),
    "U8": (np.dtype("<u1"), 1),
    "I8": (np.dtype("<i1"), 1),
    "I16": (np.dtype("<i2"), 2),
    "U16": (np.dtype("<u2"), 2),
    "F16": (np.dtype("<f2"), 2),
    "BF16": (np.dtype("<u2"), 2),  # raw bits; numpy has no bfloat16
    "I32": (np.dtype("<i4"), 4),
    "U32": (np.dtype("<u4"), 4),
    "F32": (np.dtype("<f4"), 4),
    "F64": (np.dtype("<f8"), 8),
    "I64": (np.dtype("<i8"), 8),
    "U64": (np.dtype("<u8"), 8),
}

_NUMPY_TO_DTYPE = {
    np.dtype("bool"): "BOOL",
    np.dtype("uint8"): "U8",
    np.dtype("int8"): "I8",
    np.dtype("int16"): "I16",
    np.dtype("uint16"): "U16",
    np.dtype("float16"): "F16",
    np.dtype("int32"): "I32",
    np.dtype("uint32"): "U32",
    np.dtype("float32"): "F32",
    np.dtype("float64"): "F64",
    np.dtype("int64"): "I64",
    np.dtype("uint64"): "U64",
}


class SafetensorsError(ValueError):
    """Raised for any malformed file; the message names the file, the key and expected vs actual."""


def _contiguous(arr, dtype):
    """C-contiguous copy/view of `arr` with `dtype`, keeping rank 0 (np.ascontiguousarray would make it rank 1)."""
    arr = np.asarray(arr, dtype=dtype)
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


class BF16Array:
    """Marks a uint16 numpy array as holding bfloat16 bits (so the writer emits dtype BF16)."""

    def __init__(self, bits):
        self.bits = _contiguous(bits, np.dtype("<u2"))


def _to_numpy(value):
    """Return (dtype string, C-contiguous little-endian numpy array) for a numpy array or torch tensor."""
    if isinstance(value, BF16Array):
        return "BF16", value.bits
    try:
        import torch  # optional dependency

        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            if t.dtype == torch.bfloat16:
                # bfloat16 bits = upper 16 bits of the float32 representation (exact, no rounding needed)
                bits = t.view(torch.int16).numpy().view("<u2")
                return "BF16", _contiguous(bits, np.dtype("<u2"))
            value = t.numpy()
    except ImportError:
        pass
    arr = np.asarray(value)
    if arr.dtype not in _NUMPY_TO_DTYPE:
        raise SafetensorsError(f"unsupported numpy dtype {arr.dtype}")
    name = _NUMPY_TO_DTYPE[arr.dtype]
    arr = _contiguous(arr, _DTYPES[name][0])
    return name, arr


def write_safetensors(path, tensors, metadata=None):
    """Write `tensors` ({name: array/tensor}) and optional `metadata` ({str: str}) to `path`.

    Throws SafetensorsError on a non-string metadata value, a name "__metadata__", or an unsupported dtype.
    The file is written to `path + ".tmp"` and renamed, so a failure never leaves a partial file at `path`.
    """
    meta = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise SafetensorsError(f"{path}: __metadata__ must map str to str, got {k!r}: {type(v).__name__}")
            meta[k] = v
    entries = []
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise SafetensorsError(f"{path}: invalid tensor name {name!r}")
        dtype, arr = _to_numpy(value)
        entries.append((name, dtype, arr))
    # byte layout: descending alignment (item size), then name
    entries.sort(key=lambda e: (-_DTYPES[e[1]][1], e[0]))
    header = {}
    offset = 0
    for name, dtype, arr in entries:
        nbytes = arr.size * _DTYPES[dtype][1]
        header[name] = {"dtype": dtype, "shape": [int(d) for d in arr.shape], "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    ordered = OrderedDict()
    if meta:
        ordered["__metadata__"] = OrderedDict(sorted(meta.items()))
    for name in sorted(header):
        ordered[name] = header[name]
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    pad = (-(8 + len(text))) % 8
    text += b" " * pad
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _name, _dtype, arr in entries:
            f.write(arr.tobytes(order="C"))
    os.replace(tmp, path)


def _parse_header(path, buf_len, head8, read_bytes):
    if buf_len < 8:
        raise SafetensorsError(f"{path}: HeaderTooSmall: file has {buf_len} bytes, need at least 8")
    (n,) = struct.unpack("<Q", head8)
    if n > MAX_HEADER_SIZE:
        raise SafetensorsError(f"{path}: HeaderTooLarge: header length {n} > {MAX_HEADER_SIZE}")
    if 8 + n > buf_len:
        raise SafetensorsError(f"{path}: InvalidHeaderLength: header length {n} + 8 > file size {buf_len}")
    raw = read_bytes(n)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SafetensorsError(f"{path}: InvalidHeader: header is not UTF-8 ({e})") from None

    def no_dupes(pairs):
        d = OrderedDict()
        for k, v in pairs:
            if k in d:
                raise SafetensorsError(f"{path}: InvalidHeaderDeserialization: duplicate key {k!r}")
            d[k] = v
        return d

    try:
        obj = json.loads(text, object_pairs_hook=no_dupes)
    except json.JSONDecodeError as e:
        raise SafetensorsError(f"{path}: InvalidHeaderDeserialization: {e}") from None
    if not isinstance(obj, dict):
        raise SafetensorsError(f"{path}: InvalidHeaderDeserialization: header is not a JSON object")
    meta = obj.pop("__metadata__", None)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise SafetensorsError(f"{path}: InvalidHeaderDeserialization: __metadata__ must be a str->str map")
    for name, info in obj.items():
        ok = (
            isinstance(info, dict)
            and set(info) == {"dtype", "shape", "data_offsets"}
            and info["dtype"] in _DTYPES
            and isinstance(info["shape"], list)
            and all(type(d) is int and d >= 0 for d in info["shape"])
            and isinstance(info["data_offsets"], list)
            and len(info["data_offsets"]) == 2
            and all(type(d) is int and d >= 0 for d in info["data_offsets"])
        )
        if not ok:
            raise SafetensorsError(f"{path}: InvalidHeaderDeserialization: bad entry for tensor {name!r}: {info!r}")
    # validation as in the reference Metadata::validate
    start = 0
    for name, info in sorted(obj.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        b, e = info["data_offsets"]
        if b != start or e < b:
            raise SafetensorsError(
                f"{path}: InvalidOffset: tensor {name!r} data_offsets [{b}, {e}], expected begin {start}")
        nelem = 1
        for d in info["shape"]:
            nelem *= d
        nbytes = nelem * _DTYPES[info["dtype"]][1]
        if nbytes >= 2**64:
            raise SafetensorsError(f"{path}: ValidationOverflow: tensor {name!r} shape {info['shape']}")
        if e - b != nbytes:
            raise SafetensorsError(
                f"{path}: TensorInvalidInfo: tensor {name!r} {info['dtype']}{info['shape']} needs {nbytes} bytes, "
                f"data_offsets span {e - b}")
        start = e
    if start + 8 + n != buf_len:
        raise SafetensorsError(
            f"{path}: MetadataIncompleteBuffer: tensors cover {start} bytes, buffer has {buf_len - 8 - n}")
    return obj, dict(meta), 8 + n


def read_header(path):
    """Validate the file at `path` and return (tensor header {name: info}, metadata {str: str}, data_start)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head8 = f.read(8)
        return _parse_header(path, size, head8, f.read)


def read_safetensors(path):
    """Return ({name: numpy array}, metadata). BF16 tensors come back as BF16Array (raw bits)."""
    header, meta, data_start = read_header(path)
    with open(path, "rb") as f:
        f.seek(data_start)
        buf = f.read()
    out = OrderedDict()
    for name in sorted(header):
        info = header[name]
        b, e = info["data_offsets"]
        arr = np.frombuffer(buf[b:e], dtype=_DTYPES[info["dtype"]][0]).reshape(info["shape"]).copy()
        out[name] = BF16Array(arr) if info["dtype"] == "BF16" else arr
    return out, meta


def save_state_dict(path, state_dict, metadata=None, float_dtype="F32"):
    """Write a PyTorch state dict: floating tensors as `float_dtype` (F32/F16/BF16), integer buffers as they are
    (e.g. BatchNorm num_batches_tracked stays I64, shape [])."""
    import torch

    conv = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[float_dtype]
    tensors = OrderedDict()
    for k, v in state_dict.items():
        v = v.detach().cpu()
        if v.is_floating_point():
            v = v.to(conv)
        tensors[k] = v.contiguous()
    write_safetensors(path, tensors, metadata)


def load_state_dict(path, device="cpu"):
    """Read a file written by any safetensors writer into an OrderedDict of torch tensors, plus its metadata."""
    import torch

    arrays, meta = read_safetensors(path)
    sd = OrderedDict()
    for k, a in arrays.items():
        if isinstance(a, BF16Array):
            t = torch.from_numpy(a.bits.view(np.int16).copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(a)
        sd[k] = t.to(device)
    return sd, meta


if __name__ == "__main__":
    import sys

    for p in sys.argv[1:]:
        hdr, md, _ = read_header(p)
        print(f"{p}: {len(hdr)} tensors")
        for k, v in md.items():
            print(f"  meta {k} = {v}")
        for k in sorted(hdr):
            print(f"  {k} {hdr[k]['dtype']} {hdr[k]['shape']}")

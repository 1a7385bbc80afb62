#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/<target>/): a few small
files each, valid ones and near misses, so that fuzzing starts inside every format. Run it
from anywhere: python3 tests/fuzz/make_corpus.py (the files are committed)."""
import gzip
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent / "corpus"


def put(target, name, data):
    d = HERE / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# json: the reader under safetensors headers
put("json", "object", '{"a": [1, -2.5e3, 0, true, false, null], "b": {"c": "x\\"\\u00e9\\ud83d\\ude00"}, "": {}}')
put("json", "header", '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}')
put("json", "nested", '[[[[{"k":[{"k":null}]}]]]]')
put("json", "duplicate", '{"a":1,"\\u0061":2}')
put("json", "numbers", '[0, -0, 1e10, 1E-5, 18446744073709551615, 0.5]')

# safetensors: files for the harness's cell (tests/fuzz/fuzz_safetensors.cpp)
NET = [("conv.weight", "F32", [2, 1, 3, 3]), ("conv.bias", "F32", [2]), ("block.fc.weight", "F32", [3, 4]),
       ("block.fc.bias", "F32", [3]), ("block.gain", "F32", []), ("head.weight", "F64", [2, 3]),
       ("head.bias", "F64", [2])]
SIZE = {"F32": 4, "F64": 8, "U8": 1}


def safetensors(entries, metadata=None, extra=b"", header_tail=""):
    header, offset, data = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in entries:
        n = SIZE[dtype]
        for e in shape:
            n *= e
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        data += bytes((offset + i) % 251 for i in range(n)) if dtype == "U8" else struct.pack(
            "<%d%s" % (n // SIZE[dtype], "f" if dtype == "F32" else "d"), *[0.25 * i for i in range(n // SIZE[dtype])])
        offset += n
    h = (json.dumps(header, separators=(",", ":")) + header_tail).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data + extra


put("safetensors", "valid", safetensors(NET, {"format": "pt", "epoch": "3"}))
put("safetensors", "reversed", safetensors(list(reversed(NET))))
put("safetensors", "wrong_dtype", safetensors([(n, "F64" if d == "F32" else "F32", s) for n, d, s in NET]))
put("safetensors", "unexpected_key", safetensors(NET + [("extra", "U8", [5])]))
put("safetensors", "missing_key", safetensors(NET[1:]))
put("safetensors", "truncated", safetensors(NET)[:-7])
put("safetensors", "tail_bytes", safetensors(NET, extra=b"tail"))
# st35 in small: an array in the metadata; st37 in small: a tensor claiming 4 GiB, no data
put("safetensors", "metadata_array", safetensors([], {"x": [0] * 500}))
h = b'{"x":{"dtype":"U8","shape":[4294967296],"data_offsets":[0,4294967296]}}'
h += b" " * ((8 - len(h) % 8) % 8)
put("safetensors", "claims_4GiB", struct.pack("<Q", len(h)) + h)

# idx: images [2, 2, 2], labels [2], plain and gzip
images = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 2, 2) + bytes(range(8))
labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + bytes([3, 7])
put("idx", "images", images)
put("idx", "labels", labels)
put("idx", "images.gz", gzip.compress(images, mtime=0))
put("idx", "truncated", images[:-3])
# the harness splits at the first byte: images then labels
put("idx", "split_images_labels", bytes([round(255 * (len(images) + 1) / (len(images) + len(labels) + 1))]) + images + labels)

# pgm: P5 and P2, 8 and 16 bits, comments
put("pgm", "p5_2x2", b"P5\n2 2\n255\n" + bytes([0, 64, 128, 255]))
put("pgm", "p5_16bit", b"P5 2 1 65535\n" + bytes([1, 2, 255, 255]))
put("pgm", "p2_comment", b"P2\n# a comment\n3 2\n15\n0 1 2\n3 4 15\n")
put("pgm", "p2_bad_sample", b"P2\n2 1\n7\n3 9\n")

"""Rewrites an f32 GGUF with its matrices in f16 (file type MOSTLY_F16), with
the gguf-py package bundled in llama.cpp's sources (PYTHONPATH=.../gguf-py).
Ollama's `create --quantize` quantises only files that declare
general.file_type F16 (1) or a type > 0: it reads 0 (ALL_F32) as unknown.

    python3 to_f16.py in.gguf out.gguf
"""
import sys

import numpy as np
from gguf import GGUFReader, GGUFWriter, GGUFValueType

src, dst = sys.argv[1], sys.argv[2]
r = GGUFReader(src)
arch = r.fields["general.architecture"].contents()
w = GGUFWriter(dst, arch)
for f in r.fields.values():
    if f.name.startswith("GGUF.") or f.name in ("general.architecture", "general.file_type", "general.alignment"):
        continue
    t = f.types[0]
    sub = f.types[-1] if t == GGUFValueType.ARRAY else None
    w.add_key_value(f.name, f.contents(), t, sub_type=sub)
w.add_file_type(1)
for t in r.tensors:
    a = np.array(t.data)
    if a.ndim == 2:
        a = a.astype(np.float16)
    w.add_tensor(t.name, a)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

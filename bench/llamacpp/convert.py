"""Rewrites an f32 GGUF with its matrices in another type, with the gguf-py
package bundled in llama.cpp's sources (PYTHONPATH=.../gguf-py):

    python3 convert.py in.gguf out.gguf [f16|q8_0|q4_0|q4_1|q5_0|q5_1]

The default is f16. Two uses in bench/llamacpp:
  - Ollama's `create --quantize` quantises only files that declare
    general.file_type F16 (1) or a type > 0: it reads 0 (ALL_F32) as unknown,
    so ggmi's f32 files are converted to f16 first;
  - Ollama 0.17.4 quantises only to q8_0, q4_K_S and q4_K_M, so q4_0 (and
    q4_1, q5_0, q5_1) files come from gguf-py's own quantiser (every matrix,
    the embeddings and output head included, in the one type; vectors stay f32).
"""
import sys

import numpy as np
from gguf import GGMLQuantizationType as Q, GGUFReader, GGUFValueType, GGUFWriter, LlamaFileType as F
from gguf.quants import quantize

src, dst = sys.argv[1], sys.argv[2]
kind = sys.argv[3] if len(sys.argv) > 3 else "f16"
types = {
    "f16": (Q.F16, F.MOSTLY_F16),
    "q8_0": (Q.Q8_0, F.MOSTLY_Q8_0),
    "q4_0": (Q.Q4_0, F.MOSTLY_Q4_0),
    "q4_1": (Q.Q4_1, F.MOSTLY_Q4_1),
    "q5_0": (Q.Q5_0, F.MOSTLY_Q5_0),
    "q5_1": (Q.Q5_1, F.MOSTLY_Q5_1),
}
if kind not in types:
    sys.exit(f"convert.py: unknown type {kind!r} (one of {', '.join(types)})")
qtype, ftype = types[kind]
r = GGUFReader(src)
arch = r.fields["general.architecture"].contents()
w = GGUFWriter(dst, arch)
for f in r.fields.values():
    if f.name.startswith("GGUF.") or f.name in ("general.architecture", "general.file_type", "general.alignment"):
        continue
    t = f.types[0]
    sub = f.types[-1] if t == GGUFValueType.ARRAY else None
    w.add_key_value(f.name, f.contents(), t, sub_type=sub)
w.add_file_type(int(ftype))
for t in r.tensors:
    a = np.array(t.data)
    if a.ndim != 2:
        w.add_tensor(t.name, a)
    elif qtype == Q.F16:
        w.add_tensor(t.name, a.astype(np.float16))
    else:
        w.add_tensor(t.name, quantize(a.astype(np.float32), qtype), raw_dtype=qtype)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

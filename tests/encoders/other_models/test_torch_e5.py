"""The torch runtime of the bundled model (used on a GPU), run on the CPU: the same network as OpenVINO's."""


def test_the_gpu_runtime_computes_the_same_network(encoder, sample_paragraphs):
    """The torch forward pass used on a GPU, run on the CPU here: same vectors as OpenVINO's."""
    from semsearch.encoders.torch_e5 import TorchE5Encoder

    torch_encoder = TorchE5Encoder(device="cpu")
    assert torch_encoder.identity == encoder.identity
    ours = encoder.encode_passages(sample_paragraphs)
    theirs = torch_encoder.encode_passages(sample_paragraphs)
    assert (ours * theirs).sum(axis=1).min() >= 0.9999

"""Building an index on the backend under test (conftest.BACKENDS: a directory, milvus-lite, a milvus-lite server)."""


def build_on(backend: str, new_location, sources, **options):
    """``Index.build(sources, **options)`` on ``backend``: in memory for a directory, written into Milvus otherwise."""
    import semsearch

    if backend == "local":
        return semsearch.Index.build(sources, **options)
    return semsearch.Index.build(sources, engine=new_location(), **options)

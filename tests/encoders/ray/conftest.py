"""A local Ray cluster for the tests of this folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    """Two Ray nodes of 1 CPU each on loopback (``ray.cluster_utils.Cluster``), joined by this process."""
    import tempfile

    # Ray swaps 127.0.0.1 for the machine's interface address when a driver joins (the cluster is not
    # listening there); this makes it keep loopback. Read when ray is first imported.
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    root = Path(tempfile.mkdtemp(prefix="ssray-", dir="/tmp"))  # short: Ray puts sockets under it
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(root / "auth_token")
    os.environ["RAY_TMPDIR"] = str(root)  # Ray's default /tmp/ray, which it writes the address to
    (root / "ray").mkdir()
    args = {"num_cpus": 1, "include_dashboard": False, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, head_node_args={**args, "temp_dir": str(root / "ray")})
    try:
        cluster.add_node(**args)
        ray.init(address=cluster.address, log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(root, ignore_errors=True)

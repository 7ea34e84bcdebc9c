"""Tests of semsearch.search: ranking in every mode, fusion, filters, evaluation."""

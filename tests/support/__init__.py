"""What more than one test file uses: corpora, encoders, helpers to run and attack semsearch."""

"""The pipeline: the one order of the stages, and the per-file and per-study steps that call them."""

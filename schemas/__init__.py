"""pandera models for every frame that crosses a camg stage boundary."""

"""The axis's agency directory: presets and the facts they are built from."""

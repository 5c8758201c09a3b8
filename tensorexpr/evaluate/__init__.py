"""Evaluating a network: contraction plans, grid tensors (numpy, torch, exact), matricization and the memory
guard (docs/design.md, "Layers")."""

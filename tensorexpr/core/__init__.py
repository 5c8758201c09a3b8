"""The lowest layer: errors, mode trees, partitions, pooling geometries, weight parametrizations, operators and
the one :class:`~tensorexpr.core.network.Network` form (docs/design.md, "Layers")."""

"""Policies: the frozen behaviour-cloning base, the residual actor and critics, weight bundles."""

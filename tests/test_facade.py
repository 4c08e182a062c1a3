"""The facade ``scaling_bayes`` (``import scaling_bayes as sb``): every public name resolves
lazily, and the v0.1 module names (``sb.allocation``, ``sb.hierarchical``, ...) still reach the
layered modules that hold their names."""


def test_public_api_names():
    import scaling_bayes as sb

    for name in sb.__all__:
        assert getattr(sb, name) is not None, name
    assert callable(sb.fit) and callable(sb.compute_optimal) and callable(sb.predict)
    assert callable(sb.fit_many) and sb.allocation.compute_optimal is sb.compute_optimal
    assert sb.hierarchical.compare_pooling is sb.compare_pooling  # v0.1 names across layers
    assert sb.hierarchical.fit_hierarchical is sb.fit_hierarchical

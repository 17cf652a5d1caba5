"""Linear CKA (sr_lib.metrics.cka): the invariances CKA is defined to have, the
two forms against each other, and the unbiased HSIC against its U-statistic
definition computed by brute force."""
from __future__ import annotations

import itertools

import pytest
import torch

from sr_lib.metrics.cka import (MinibatchCKA, cka_from_gram, hsic_unbiased, linear_cka, minibatch_cka)

F64 = torch.float64


def data(n=40, p=7, q=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, p, generator=g, dtype=F64)
    Y = X @ torch.randn(p, q, generator=g, dtype=F64) + 0.5 * torch.randn(n, q, generator=g, dtype=F64)
    return X, Y


def random_orthogonal(p, seed=1):
    q, _ = torch.linalg.qr(torch.randn(p, p, generator=torch.Generator().manual_seed(seed), dtype=F64))
    return q


class TestLinearCKA:
    def test_self_similarity_is_one(self):
        X, _ = data()
        assert linear_cka(X, X).item() == pytest.approx(1.0, abs=1e-12)

    def test_symmetric_and_in_unit_interval(self):
        X, Y = data()
        a, b = linear_cka(X, Y).item(), linear_cka(Y, X).item()
        assert a == pytest.approx(b, abs=1e-12)
        assert 0.0 < a < 1.0

    def test_invariant_to_orthogonal_transform_and_isotropic_scaling(self):
        X, Y = data()
        ref = linear_cka(X, Y)
        torch.testing.assert_close(linear_cka(X @ random_orthogonal(7), Y), ref)
        torch.testing.assert_close(linear_cka(X, 3.7 * Y @ random_orthogonal(5, seed=2)), ref)

    def test_invariant_to_feature_offsets(self):
        X, Y = data()
        torch.testing.assert_close(linear_cka(X + 5.0, Y - 2.0), linear_cka(X, Y))

    def test_not_invariant_to_anisotropic_scaling(self):
        X, Y = data()
        D = torch.diag(torch.tensor([10.0, 1, 1, 1, 1, 1, 0.1], dtype=F64))
        assert abs(linear_cka(X @ D, Y) - linear_cka(X, Y)) > 1e-3

    def test_feature_form_equals_hsic_form(self):
        X, Y = data()
        torch.testing.assert_close(cka_from_gram(X @ X.T, Y @ Y.T), linear_cka(X, Y))

    def test_feature_maps_are_flattened_per_row(self):
        X = torch.randn(6, 2, 3, 3, dtype=F64)
        assert linear_cka(X, X.flip(-1)).item() == pytest.approx(1.0, abs=1e-12)   # a permutation of features

    def test_row_mismatch_is_rejected(self):
        with pytest.raises(ValueError, match="same examples"):
            linear_cka(torch.randn(4, 2), torch.randn(5, 2))


def hsic_u_statistic(K, L):
    """HSIC₁ as the U-statistic over ordered 4-tuples of distinct indices (Song et al. 2012)."""
    n = K.shape[0]
    total = 0.0
    for i, j, q, r in itertools.permutations(range(n), 4):
        total += K[i, j] * L[i, j] + K[i, j] * L[q, r] - 2 * K[i, j] * L[i, q]
    return total / (n * (n - 1) * (n - 2) * (n - 3))


class TestUnbiasedHSIC:
    @pytest.mark.parametrize("n", [4, 6])
    def test_closed_form_matches_u_statistic(self, n):
        X, Y = data(n=n)
        K, L = X @ X.T, Y @ Y.T
        assert hsic_unbiased(K, L).item() == pytest.approx(hsic_u_statistic(K, L).item(), rel=1e-10)

    def test_needs_four_examples(self):
        with pytest.raises(ValueError, match="at least 4"):
            hsic_unbiased(torch.eye(3), torch.eye(3))

    def test_independent_features_average_to_zero(self):
        # unbiased: E[HSIC₁] = 0 for independent X, Y; the biased estimator stays positive
        g = torch.Generator().manual_seed(3)
        vals = []
        for _ in range(200):
            X, Y = torch.randn(8, 3, generator=g, dtype=F64), torch.randn(8, 3, generator=g, dtype=F64)
            vals.append(hsic_unbiased(X @ X.T, Y @ Y.T))
        vals = torch.stack(vals)
        assert abs(vals.mean()) < 3 * vals.std() / len(vals) ** 0.5


class TestMinibatchCKA:
    def test_self_similarity_is_one(self):
        X, _ = data(n=48)
        assert minibatch_cka(X, X, batch_size=8).item() == pytest.approx(1.0, abs=1e-12)

    def test_invariances_hold_per_minibatch(self):
        X, Y = data(n=48)
        ref = minibatch_cka(X, Y, 8)
        torch.testing.assert_close(minibatch_cka(2.5 * X @ random_orthogonal(7), Y, 8), ref)
        torch.testing.assert_close(minibatch_cka(Y, X, 8), ref)

    def test_large_minibatches_approach_the_full_batch_value(self):
        X, Y = data(n=4000, p=4, q=3, seed=5)
        full = linear_cka(X, Y).item()
        assert minibatch_cka(X, Y, batch_size=1000).item() == pytest.approx(full, abs=0.01)

    def test_layer_matrix_matches_pairwise_values(self):
        X, Y = data(n=24)
        Z = torch.tanh(X[:, :3])
        acc = MinibatchCKA()
        for i in range(0, 24, 6):
            acc.update([X[i:i + 6], Z[i:i + 6]], [Y[i:i + 6], X[i:i + 6], Z[i:i + 6]])
        m = acc.value()
        assert m.shape == (2, 3)
        torch.testing.assert_close(m[0, 0], minibatch_cka(X, Y, 6))
        torch.testing.assert_close(m[1, 2], torch.tensor(1.0, dtype=F64))
        torch.testing.assert_close(m[0, 1], torch.tensor(1.0, dtype=F64))

    def test_value_before_update_is_an_error(self):
        with pytest.raises(ValueError, match="before any update"):
            MinibatchCKA().value()

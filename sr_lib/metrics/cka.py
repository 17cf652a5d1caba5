"""Linear centred kernel alignment (CKA), EQSR supplement Sec. 3, Eq. 1–5.

Rows are examples, columns features: ``X [n, p]``, ``Y [n, q]`` (the same n
examples seen by two layers / two scales). Three estimators:

- ``linear_cka``: feature form (Kornblith et al. 2019),
  ``‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)`` on column-centred X, Y;
- ``cka_from_gram``: HSIC form of Eq. 1–4, K = XXᵀ, L = YYᵀ,
  HSIC(K, L) = vec(HKH)·vec(HLH)/(n−1)², CKA = HSIC(K, L)/√(HSIC(K, K)·HSIC(L, L))
  (identical to the feature form for linear kernels);
- ``MinibatchCKA``: Nguyen, Raghu & Kornblith (2020), Eq. 5: the *unbiased*
  HSIC estimator (Song et al. 2012) averaged over k minibatches,
  CKA = mean_i HSIC₁(K_i, L_i) / √(mean_i HSIC₁(K_i, K_i) · mean_i HSIC₁(L_i, L_i)).
  The extracted Eq. 5 carries 1/k in the numerator only; with sums in the
  denominator that would give CKA(X, X) = 1/k, so we read it as Nguyen et al.
  write it (1/k on every term; the factors cancel).

All computations run in float64.
"""
from __future__ import annotations

import torch

F64 = torch.float64


def _rows(x: torch.Tensor) -> torch.Tensor:
    """``[n, ...]`` → ``[n, p]`` float64."""
    return x.reshape(x.shape[0], -1).to(F64)


def center_gram(gram: torch.Tensor) -> torch.Tensor:
    """H K H with H = I − 11ᵀ/n (Eq. 2)."""
    g = gram.to(F64)
    g = g - g.mean(dim=0, keepdim=True)
    return g - g.mean(dim=1, keepdim=True)


def hsic(K: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Biased HSIC of Eq. 3: vec(HKH)·vec(HLH)/(n−1)²."""
    n = K.shape[0]
    return (center_gram(K) * center_gram(L)).sum() / (n - 1) ** 2


def cka_from_gram(K: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """CKA of Eq. 4 from Gram matrices ``K, L [n, n]``."""
    return hsic(K, L) / torch.sqrt(hsic(K, K) * hsic(L, L))


def linear_cka(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Linear CKA in feature form: ``X [n, ...]``, ``Y [n, ...]`` (flattened per row) → scalar in [0, 1]."""
    X, Y = _rows(X), _rows(Y)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"CKA needs the same examples in both: {X.shape[0]} vs {Y.shape[0]} rows")
    X = X - X.mean(dim=0, keepdim=True)
    Y = Y - Y.mean(dim=0, keepdim=True)
    return (Y.T @ X).square().sum() / (torch.linalg.norm(X.T @ X) * torch.linalg.norm(Y.T @ Y))


def hsic_unbiased(K: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Unbiased HSIC estimator (Song et al. 2012; Nguyen et al. 2020, Eq. 3), n ≥ 4:

        [tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1/((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1] / (n(n−3)),

    with K̃, L̃ the Gram matrices with zeroed diagonals.
    """
    n = K.shape[0]
    if n < 4:
        raise ValueError(f"the unbiased HSIC needs at least 4 examples per minibatch, got {n}")
    K = K.to(F64) - torch.diag(torch.diagonal(K).to(F64))
    L = L.to(F64) - torch.diag(torch.diagonal(L).to(F64))
    trace = (K * L.T).sum()
    sums = K.sum() * L.sum() / ((n - 1) * (n - 2))
    cross = 2.0 / (n - 2) * (K.sum(dim=0) @ L.sum(dim=1))
    return (trace + sums - cross) / (n * (n - 3))


class MinibatchCKA:
    """Layer × layer minibatch CKA (Eq. 5), accumulated over minibatches.

    ``update(xs, ys)`` takes one minibatch of features for each of the A layers
    (``xs``) and B layers (``ys``), every tensor ``[n, ...]`` with the same n rows;
    ``value()`` returns the ``[A, B]`` CKA matrix of everything seen so far.
    """

    def __init__(self):
        self.cross = None          # Σ_i HSIC₁(K_a, L_b)   [A, B]
        self.self_x = None         # Σ_i HSIC₁(K_a, K_a)   [A]
        self.self_y = None         # Σ_i HSIC₁(L_b, L_b)   [B]
        self.count = 0

    def update(self, xs, ys) -> None:
        grams_x = [(_rows(x) @ _rows(x).T) for x in xs]
        grams_y = [(_rows(y) @ _rows(y).T) for y in ys]
        cross = torch.stack([torch.stack([hsic_unbiased(K, L) for L in grams_y]) for K in grams_x])
        self_x = torch.stack([hsic_unbiased(K, K) for K in grams_x])
        self_y = torch.stack([hsic_unbiased(L, L) for L in grams_y])
        if self.count == 0:
            self.cross, self.self_x, self.self_y = cross, self_x, self_y
        else:
            if cross.shape != self.cross.shape:
                raise ValueError(f"layer counts changed between minibatches: {tuple(cross.shape)} vs "
                                 f"{tuple(self.cross.shape)}")
            self.cross, self.self_x, self.self_y = self.cross + cross, self.self_x + self_x, self.self_y + self_y
        self.count += 1

    def value(self) -> torch.Tensor:
        if self.count == 0:
            raise ValueError("MinibatchCKA.value() before any update()")
        return self.cross / torch.sqrt(self.self_x[:, None] * self.self_y[None, :])


def minibatch_cka(X: torch.Tensor, Y: torch.Tensor, batch_size: int) -> torch.Tensor:
    """CKA of two single layers by Eq. 5 over consecutive minibatches of ``batch_size``
    rows (a trailing minibatch with fewer than 4 rows is dropped)."""
    acc = MinibatchCKA()
    for i in range(0, X.shape[0] - 3, batch_size):
        x, y = X[i:i + batch_size], Y[i:i + batch_size]
        if x.shape[0] >= 4:
            acc.update([x], [y])
    return acc.value()[0, 0]


__all__ = ["linear_cka", "cka_from_gram", "hsic", "hsic_unbiased", "center_gram", "MinibatchCKA",
           "minibatch_cka"]

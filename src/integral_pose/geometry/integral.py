"""The integral operation (soft-argmax): heat-map logits → expected joint coordinates.

Conventions (DESIGN §3, identical to the original system):

* Input logits ``(B, J, D, H, W)`` (3D) or ``(B, J, H, W)`` (2D). One softmax over all ``D·H·W`` (or ``H·W``) bins
  of each joint, ``p = softmax(beta · logits)``.
* Bin ``i`` has coordinate ``i`` (integer index, no half-bin offset). ``x = Σ_w w·p_x(w)`` with ``p_x`` the marginal
  over ``(D, H)``; likewise ``y`` (over ``H``) and ``z`` (over ``D``). Output order is ``(x, y, z)`` =
  ``(W, H, D)`` axes. Values lie in ``[0, N − 1]`` for an axis of ``N`` bins; uniform logits give ``(N − 1) / 2``.
* Normalised coordinates: ``x_n = x / W − 0.5``, ``y_n = y / H − 0.5``, ``z_n = z / D − 0.5``, in
  ``[−0.5, 0.5 − 1/N]`` (what the training labels use).

Dtype policy: the softmax and all reductions run in float32 for float16/bfloat16/float32 inputs (also under
autocast, which is disabled inside the op) and in float64 for float64 inputs. The result is float64 for float64
input and float32 otherwise (coordinates need more precision than half types give). Gradients flow back in the
input's dtype. Index vectors are created on the input's device, so the op runs on any device.

Memory: :func:`soft_argmax_3d` uses a custom ``torch.autograd.Function`` that saves for backward only the logits
(the caller's own tensor, already alive as the network output) and per-joint scalars (expectations and
log-normaliser); the straightforward graph keeps the softmax volume instead. The forward pass allocates one
temporary volume (the softmax, freed before returning); backward recomputes it directly into the buffer that
becomes the input gradient and multiplies in depth chunks (≤ 1/8 volume of temporaries). Forward + backward thus
peaks at about the gradient volume alone, where the straightforward op (:func:`soft_argmax_3d_reference`, kept as
the oracle and the ``ipr bench op`` baseline) peaks at about three volumes.

``debias`` implements the correction of Gu, Yang & Yao, "Removing the Bias of Integral Pose Regression" (ICCV
2021): if the background logits sit at 0, each of the ``N`` background bins holds probability ``1 / C``
(``C = Σ exp(beta · logits)``), pulling the expectation towards the volume centre ``m``. Removing that uniform
share gives ``x̂ = (C·x − N·m) / (C − N)``. It is applied only where ``N / C ≤ 0.99`` (the peak holds ≥ 1 % of
the mass); elsewhere the plain expectation is returned. Use it with heat-maps whose background is ≈ 0.

Export: under ``torch.export`` (and so ``torch.onnx.export(dynamo=True)``), :func:`soft_argmax_3d`,
:func:`soft_argmax_2d` and :func:`joint_confidence_3d` switch to the plain-autograd formulation and skip the value
checks that read tensor values on the host (which cannot be traced); the numbers are the same. Shape checks stay.
An exported graph can therefore call these public functions directly (see :func:`is_tracing_for_export`).

Example:
    >>> import torch
    >>> logits = torch.full((1, 1, 4, 5, 6), -1e4)
    >>> logits[0, 0, 3, 1, 2] = 0.0  # depth 3, row 1, column 2
    >>> soft_argmax_3d(logits).tolist()
    [[[2.0, 1.0, 3.0]]]
    >>> soft_argmax_3d(torch.zeros(1, 1, 4, 5, 6)).round(decimals=4).tolist()  # uniform → ((W-1)/2, (H-1)/2, (D-1)/2)
    [[[2.5, 2.0, 1.5]]]
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

__all__ = [
    "DEBIAS_MAX_BACKGROUND",
    "SoftArgmax3d",
    "is_tracing_for_export",
    "joint_confidence_2d",
    "joint_confidence_3d",
    "logits_to_volume",
    "normalize_coords",
    "soft_argmax_2d",
    "soft_argmax_3d",
    "soft_argmax_3d_normalized",
    "soft_argmax_3d_reference",
]

#: debias is applied where the background share N / C is at most this value.
DEBIAS_MAX_BACKGROUND = 0.99


# ----------------------------------------------------------------------------------------------- validation
def _check_logits(logits: Any, ndim: int, name: str = "logits") -> None:
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {logits.dtype}")
    shape = "(B, J, D, H, W)" if ndim == 5 else "(B, J, H, W)"
    if logits.ndim != ndim:
        raise ValueError(f"{name}: expected shape {shape} ({ndim} dims), got {tuple(logits.shape)}")
    if any(s == 0 for s in logits.shape):
        raise ValueError(f"{name}: expected non-empty dimensions {shape}, got {tuple(logits.shape)}")


def _check_row_max(row_max: torch.Tensor, name: str = "logits") -> None:
    """Values check from the per-joint maxima (max propagates NaN): no NaN, no +inf, not all −inf."""
    if not bool(torch.isfinite(row_max).all()):
        bad = row_max[~torch.isfinite(row_max)]
        raise ValueError(
            f"{name}: expected finite logits (−inf allowed unless a whole joint is −inf), got a joint whose "
            f"maximum is {float(bad[0])} (NaN, +inf or all −inf)"
        )


def _check_beta(beta: float) -> float:
    if isinstance(beta, bool) or not isinstance(beta, int | float):
        raise TypeError(f"beta: expected a float, got {type(beta).__name__}")
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta: expected a finite value > 0, got {beta}")
    return float(beta)


def is_tracing_for_export() -> bool:
    """True while ``torch.export`` (or the dynamo-based ONNX exporter, or the TorchScript ONNX exporter) traces.

    The integral functions then use their export-safe formulation: same numbers, no host-side value checks.
    """
    compiler = getattr(torch, "compiler", None)
    exporting = getattr(compiler, "is_exporting", None)
    if exporting is not None and exporting():
        return True
    onnx_check = getattr(getattr(torch, "onnx", None), "is_in_onnx_export", None)
    return bool(onnx_check()) if onnx_check is not None else False


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


class _NoAutocast:
    """Disable autocast for the device type of a tensor (no-op where autocast is unavailable)."""

    def __init__(self, device_type: str) -> None:
        self._ctx = None
        available = getattr(torch.amp, "is_autocast_available", None)
        if available(device_type) if available is not None else device_type in ("cpu", "cuda"):
            self._ctx = torch.autocast(device_type=device_type, enabled=False)

    def __enter__(self) -> None:
        if self._ctx is not None:
            self._ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(*exc)


def logits_to_volume(logits: torch.Tensor, num_joints: int, depth_bins: int | None = None) -> torch.Tensor:
    """Reshape head output ``(B, J·D, H, W)`` (channel = j·D + d, joint-major) into ``(B, J, D, H, W)`` (a view).

    Args:
        logits: (B, J·D, H, W) network output.
        num_joints: J.
        depth_bins: D; when given the channel count must be exactly J·D, otherwise D = channels / J.

    Raises:
        TypeError / ValueError: not a 4-D tensor, or channels that do not split into J joints (of D bins).
    """
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits: expected a torch.Tensor, got {type(logits).__name__}")
    if logits.ndim != 4:
        raise ValueError(f"logits: expected shape (B, J·D, H, W), got {tuple(logits.shape)}")
    if not isinstance(num_joints, int) or num_joints <= 0:
        raise ValueError(f"num_joints: expected a positive int, got {num_joints!r}")
    b, c, h, w = logits.shape
    if depth_bins is not None and c != num_joints * depth_bins:
        raise ValueError(
            f"logits: expected {num_joints}·{depth_bins} = {num_joints * depth_bins} channels (J·D), got {c}"
        )
    if c % num_joints:
        raise ValueError(f"logits: channel count {c} is not a multiple of num_joints={num_joints}")
    return logits.reshape(b, num_joints, c // num_joints, h, w)


# ----------------------------------------------------------------------------------------------- memory-lean op
def _exp_shifted(x2: torch.Tensor, beta: float, shift: torch.Tensor, cdtype: torch.dtype) -> torch.Tensor:
    """A new (R, N) tensor ``exp(beta·x − shift)`` in ``cdtype`` with exactly one volume allocated."""
    if x2.dtype == cdtype and beta == 1.0:
        out = torch.sub(x2, shift[:, None])  # the one allocation
    else:
        out = x2.to(dtype=cdtype, copy=True)
        if beta != 1.0:
            out.mul_(beta)
        out.sub_(shift[:, None])
    return out.exp_()


class _SoftArgmax3dFn(torch.autograd.Function):
    """(R, D, H, W) logits → (R, 3) expectations (x, y, z) and (R,) log-normaliser ``logsumexp(beta·x)``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        cdtype = _compute_dtype(x.dtype)
        r, d, h, w = x.shape
        with torch.no_grad(), _NoAutocast(x.device.type):
            x2 = x.reshape(r, d * h * w)
            mx = x2.amax(dim=1).to(cdtype)  # (R,)
            _check_row_max(mx)
            if beta == 1.0:
                # fused softmax (the one temporary volume); lse from the peak: p_max = exp(max − lse)
                e = torch.softmax(x2, dim=1, dtype=cdtype)
                lse = mx - e.amax(dim=1).log()
                total = None
            else:
                e = _exp_shifted(x2, beta, mx * beta, cdtype)  # unnormalised, the one temporary volume
                total = e.sum(dim=1)  # (R,)
                lse = mx * beta + total.log()
            e3 = e.view(r, d, h * w)
            plane = (torch.ones(1, d, device=x.device, dtype=cdtype) @ e3).view(r, h, w)  # sum over D
            px = plane.sum(dim=1)  # (R, W) marginals
            py = plane.sum(dim=2)  # (R, H)
            pz = e3.sum(dim=2)  # (R, D)
            del e, e3, plane
            iw = torch.arange(w, device=x.device, dtype=cdtype)
            ih = torch.arange(h, device=x.device, dtype=cdtype)
            idp = torch.arange(d, device=x.device, dtype=cdtype)
            coords = torch.stack([px @ iw, py @ ih, pz @ idp], dim=1)  # (R, 3)
            if total is not None:
                coords = coords / total[:, None]
        ctx.save_for_backward(x, coords, lse)
        ctx.beta = beta
        return coords, lse

    @staticmethod
    def backward(
        ctx: Any, g_coords: torch.Tensor | None, g_lse: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, None]:  # type: ignore[override]
        x, coords, lse = ctx.saved_tensors
        beta = ctx.beta
        if not ctx.needs_input_grad[0]:
            return None, None
        r, d, h, w = x.shape
        cdtype = coords.dtype
        with torch.no_grad(), _NoAutocast(x.device.type):
            gc = torch.zeros_like(coords) if g_coords is None else g_coords.to(cdtype)
            gl = torch.zeros_like(lse) if g_lse is None else g_lse.to(cdtype)
            # ∂x_a/∂logit_k = beta·p_k·(i_a(k) − x_a);  ∂lse/∂logit_k = beta·p_k
            # grad_k = beta·p_k·(c0 + gx·iw(k) + gy·ih(k) + gz·id(k)),  c0 = g_lse − Σ_a g_a·x_a
            c0 = gl - (gc * coords).sum(dim=1)  # (R,)
            ax = gc[:, 0:1] * torch.arange(w, device=x.device, dtype=cdtype)  # (R, W)
            ay = gc[:, 1:2] * torch.arange(h, device=x.device, dtype=cdtype)  # (R, H)
            az = gc[:, 2:3] * torch.arange(d, device=x.device, dtype=cdtype) + c0[:, None]  # (R, D)
            ayz = (az[:, :, None] + ay[:, None, :]).mul_(beta)  # (R, D, H): a 1/W slice of a volume
            ax = ax.mul_(beta)
            if beta == 1.0:  # p recomputed, the one volume (it becomes the gradient)
                grad = torch.softmax(x.reshape(r, -1), dim=1, dtype=cdtype).view(r, d, h, w)
            else:
                grad = _exp_shifted(x.reshape(r, -1), beta, lse, cdtype).view(r, d, h, w)
            step = max(1, d // 8)  # multiply in depth chunks so the factor volume stays ≤ 1/8 of a volume
            for d0 in range(0, d, step):
                sl = slice(d0, min(d, d0 + step))
                grad[:, sl].mul_(ayz[:, sl, :, None] + ax[:, None, None, :])
            grad = grad.to(x.dtype)
        return grad, None


def _debias(coords: torch.Tensor, lse: torch.Tensor, sizes: tuple[int, ...], centre: torch.Tensor) -> torch.Tensor:
    """Gu et al. (ICCV 2021) correction; ``coords`` (R, A), ``lse`` (R,), ``sizes`` the volume dims, ``centre`` (A,)."""
    n = float(math.prod(sizes))
    ratio = torch.exp(math.log(n) - lse)  # N / C, (R,)
    apply = ratio <= DEBIAS_MAX_BACKGROUND
    safe = torch.where(apply, ratio, torch.zeros_like(ratio))[:, None]
    corrected = (coords - safe * centre) / (1.0 - safe)
    return torch.where(apply[:, None], corrected, coords)


def normalize_coords(coords: torch.Tensor, sizes: tuple[int, ...]) -> torch.Tensor:
    """Bin coordinates (..., A) → normalised ``c / N − 0.5`` with ``sizes`` given in the coordinate order."""
    if coords.shape[-1] != len(sizes):
        raise ValueError(f"coords: expected last dim {len(sizes)} to match sizes {sizes}, got {tuple(coords.shape)}")
    scale = torch.tensor([float(s) for s in sizes], device=coords.device, dtype=coords.dtype)
    return coords / scale - 0.5


def soft_argmax_3d(
    logits: torch.Tensor, beta: float = 1.0, debias: bool = False, normalized: bool = False
) -> torch.Tensor:
    """Soft-argmax of 3D heat-map logits, memory-lean.

    Args:
        logits: (B, J, D, H, W) raw scores (any float dtype, any device).
        beta: softmax inverse temperature (> 0); ``p = softmax(beta · logits)``.
        debias: apply the Gu et al. (ICCV 2021) bias removal (see module docstring).
        normalized: return ``c / N − 0.5`` per axis instead of bin units.

    Returns:
        (B, J, 3) coordinates in ``(x, y, z)`` order, bin units in ``[0, N − 1]`` (or normalised), float32
        (float64 for float64 input).

    Example:
        >>> import torch
        >>> soft_argmax_3d(torch.zeros(2, 3, 4, 4, 4)).shape
        torch.Size([2, 3, 3])
    """
    _check_logits(logits, 5)
    beta = _check_beta(beta)
    if is_tracing_for_export():  # traceable formulation, same numbers, no host-side value check
        return _reference_impl(logits, beta, debias, normalized)
    b, j, d, h, w = logits.shape
    coords, lse = _SoftArgmax3dFn.apply(logits.reshape(b * j, d, h, w), beta)
    if debias:
        centre = torch.tensor([(w - 1) / 2, (h - 1) / 2, (d - 1) / 2], device=coords.device, dtype=coords.dtype)
        coords = _debias(coords, lse, (d, h, w), centre)
    coords = coords.reshape(b, j, 3)
    return normalize_coords(coords, (w, h, d)) if normalized else coords


def soft_argmax_3d_normalized(logits: torch.Tensor, beta: float = 1.0, debias: bool = False) -> torch.Tensor:
    """:func:`soft_argmax_3d` in normalised coordinates ``[−0.5, 0.5 − 1/N]`` (the training label space)."""
    return soft_argmax_3d(logits, beta=beta, debias=debias, normalized=True)


def soft_argmax_3d_reference(
    logits: torch.Tensor, beta: float = 1.0, debias: bool = False, normalized: bool = False
) -> torch.Tensor:
    """The straightforward implementation (the original system's ``softmax_integral_tensor`` made device-agnostic).

    Softmax over D·H·W, three marginals by summation, expectations against index vectors, all in plain autograd
    (keeps the full softmax volume for backward). Same arguments, dtype policy and result as
    :func:`soft_argmax_3d`; used as the test oracle and the benchmark baseline.
    """
    _check_logits(logits, 5)
    beta = _check_beta(beta)
    _check_row_max(logits.detach().flatten(2).amax(dim=2))
    return _reference_impl(logits, beta, debias, normalized)


def _reference_impl(logits: torch.Tensor, beta: float, debias: bool, normalized: bool) -> torch.Tensor:
    b, j, d, h, w = logits.shape
    cdtype = _compute_dtype(logits.dtype)
    with _NoAutocast(logits.device.type):
        flat = logits.reshape(b, j, d * h * w).to(cdtype)
        if beta != 1.0:
            flat = flat * beta
        p = torch.softmax(flat, dim=2).reshape(b, j, d, h, w)
        px = p.sum(dim=2).sum(dim=2)  # (B, J, W)
        py = p.sum(dim=2).sum(dim=3)  # (B, J, H)
        pz = p.sum(dim=3).sum(dim=3)  # (B, J, D)
        x = (px * torch.arange(w, device=logits.device, dtype=cdtype)).sum(dim=2)
        y = (py * torch.arange(h, device=logits.device, dtype=cdtype)).sum(dim=2)
        z = (pz * torch.arange(d, device=logits.device, dtype=cdtype)).sum(dim=2)
        coords = torch.stack([x, y, z], dim=2)
        if debias:
            lse = torch.logsumexp(flat, dim=2)
            centre = torch.tensor([(w - 1) / 2, (h - 1) / 2, (d - 1) / 2], device=logits.device, dtype=cdtype)
            coords = _debias(coords.reshape(b * j, 3), lse.reshape(b * j), (d, h, w), centre).reshape(b, j, 3)
    return normalize_coords(coords, (w, h, d)) if normalized else coords


def soft_argmax_2d(
    logits: torch.Tensor, beta: float = 1.0, debias: bool = False, normalized: bool = False
) -> torch.Tensor:
    """Soft-argmax of 2D heat-map logits.

    Args:
        logits: (B, J, H, W) raw scores.
        beta: softmax inverse temperature (> 0).
        debias: Gu et al. (ICCV 2021) bias removal.
        normalized: return ``c / N − 0.5`` per axis instead of bin units.

    Returns:
        (B, J, 2) coordinates ``(x, y)`` in bins (column, row), float32 (float64 for float64 input).

    Example:
        >>> import torch
        >>> hm = torch.full((1, 1, 3, 5), -1e4); hm[0, 0, 2, 4] = 0.0
        >>> soft_argmax_2d(hm).tolist()
        [[[4.0, 2.0]]]
    """
    _check_logits(logits, 4)
    beta = _check_beta(beta)
    if is_tracing_for_export():  # traceable formulation, same numbers, no host-side value check
        # one depth bin: z is identically 0 and drops out of the normalisation and the debias correction
        return _reference_impl(logits[:, :, None], beta, debias, normalized)[..., :2]
    b, j, h, w = logits.shape
    # a 2D map is a 3D volume with one depth bin; the depth coordinate is then identically 0
    coords, lse = _SoftArgmax3dFn.apply(logits.reshape(b * j, 1, h, w), beta)
    coords = coords[:, :2]
    if debias:
        centre = torch.tensor([(w - 1) / 2, (h - 1) / 2], device=coords.device, dtype=coords.dtype)
        coords = _debias(coords, lse, (h, w), centre)
    coords = coords.reshape(b, j, 2)
    return normalize_coords(coords, (w, h)) if normalized else coords


# ----------------------------------------------------------------------------------------------- confidence
def _box_mass(p: torch.Tensor, coords: torch.Tensor, radius: int) -> torch.Tensor:
    """Mass of ``p`` (R, D, H, W) inside the (2r+1)³ box of bins around the rounded ``coords`` (R, 3) x, y, z."""
    _, d, h, w = p.shape
    masks = []
    for axis, n in ((0, w), (1, h), (2, d)):
        centre = coords[:, axis].round()[:, None]  # (R, 1)
        idx = torch.arange(n, device=p.device, dtype=p.dtype)[None]
        masks.append(((idx - centre).abs() <= radius).to(p.dtype))
    mx, my, mz = masks
    return torch.einsum("rdhw,rw,rh,rd->r", p, mx, my, mz)


@torch.no_grad()
def joint_confidence_3d(
    logits: torch.Tensor, beta: float = 1.0, radius: int = 2, coords: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-joint confidence from the softmax distribution of 3D logits, in [0, 1].

    It is the probability mass that ``softmax(beta · logits)`` puts inside the ``(2·radius + 1)³`` box of bins
    centred on the (rounded) soft-argmax location: 1 for a distribution concentrated at its expectation, small
    for a spread-out or multi-modal one (uniform logits give ``(2r + 1)³ / (D·H·W)`` away from the borders).

    Args:
        logits: (B, J, D, H, W).
        beta: softmax inverse temperature, as used for the coordinates.
        radius: half-width of the box in bins (≥ 0).
        coords: optional (B, J, 3) soft-argmax of the same logits in bin units (x, y, z), as returned by
            :func:`soft_argmax_3d` with the same ``beta``; passing it avoids computing it twice.

    Returns:
        (B, J) float32 (float64 for float64 input), no gradient.
    """
    _check_logits(logits, 5)
    beta = _check_beta(beta)
    if not isinstance(radius, int) or isinstance(radius, bool) or radius < 0:
        raise ValueError(f"radius: expected an int ≥ 0, got {radius!r}")
    b, j, d, h, w = logits.shape
    if coords is None:
        coords = soft_argmax_3d(logits, beta=beta)
    elif tuple(coords.shape) != (b, j, 3):
        raise ValueError(f"coords: expected shape {(b, j, 3)} (B, J, 3) bins, got {tuple(coords.shape)}")
    cdtype = _compute_dtype(logits.dtype)
    coords = coords.to(cdtype)
    with _NoAutocast(logits.device.type):
        p = torch.softmax(logits.reshape(b * j, -1).to(cdtype) * beta, dim=1).view(b * j, d, h, w)
        mass = _box_mass(p, coords.reshape(b * j, 3), radius)
    return mass.clamp_(0.0, 1.0).reshape(b, j)


@torch.no_grad()
def joint_confidence_2d(logits: torch.Tensor, beta: float = 1.0, radius: int = 2) -> torch.Tensor:
    """2D counterpart of :func:`joint_confidence_3d` for (B, J, H, W) logits: mass in the (2r+1)² box; (B, J)."""
    _check_logits(logits, 4)
    return joint_confidence_3d(logits[:, :, None], beta=beta, radius=radius)


class SoftArgmax3d(nn.Module):
    """Module form of :func:`soft_argmax_3d` (no parameters).

    Args:
        beta: softmax inverse temperature.
        debias: Gu et al. (ICCV 2021) bias removal.
        normalized: output normalised coordinates (the default here, as used by training).
    """

    def __init__(self, beta: float = 1.0, debias: bool = False, normalized: bool = True) -> None:
        super().__init__()
        self.beta = _check_beta(beta)
        self.debias = bool(debias)
        self.normalized = bool(normalized)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, J, D, H, W) logits → (B, J, 3) coordinates."""
        return soft_argmax_3d(logits, beta=self.beta, debias=self.debias, normalized=self.normalized)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, debias={self.debias}, normalized={self.normalized}"

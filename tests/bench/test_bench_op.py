"""``ipr bench op`` on a tiny size: the table is printed with every row and ratio column (no timing asserted)."""

from __future__ import annotations

import pytest

from integral_pose.bench.op import format_table, main, measure
from integral_pose.errors import CliError


def test_bench_op_prints_the_table(capsys):
    assert main(repeats=1, device="cpu", sizes={"tiny": (1, 2, 4, 5, 6)}) == 0
    out = capsys.readouterr().out.splitlines()
    assert "orig ms" in out[1] and "mem x" in out[1]
    rows = [line.split() for line in out[3:]]
    assert [r[:3] for r in rows] == [["cpu", "tiny", "forward"], ["cpu", "tiny", "fwd+bwd"]]
    for r in rows:
        assert len(r) == 9 and all(float(v) >= 0 for v in r[3:])


def test_measure_reports_memory_of_both_ops():
    rows = measure((1, 2, 8, 8, 8), "cpu", repeats=1)
    volume = 2 * 8 * 8 * 8 * 4
    fwd_bwd = rows[1]
    # the gradient volume alone is allocated by both; the original keeps its softmax volume too
    assert fwd_bwd["ours_bytes"] >= volume and fwd_bwd["original_bytes"] > fwd_bwd["ours_bytes"]
    line = format_table([{"device": "cpu", "size": "x", **fwd_bwd}]).splitlines()[-1].split()
    assert float(line[-1]) == pytest.approx(fwd_bwd["ours_bytes"] / fwd_bwd["original_bytes"], abs=0.006)
    assert float(line[5]) == pytest.approx(fwd_bwd["ours_s"] / fwd_bwd["original_s"], abs=0.006)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"repeats": 0}, "--repeats"),
        ({"device": "tpu"}, "--device: expected cpu, cuda or auto"),
        ({"sizes": {"bad": (1, 2, 3)}}, r"sizes\['bad'\]"),
    ],
)
def test_bench_op_bad_arguments(kwargs, match):
    with pytest.raises(CliError, match=match):
        main(**kwargs)


def test_bench_op_uses_only_public_names_of_the_integral_module():
    import ast
    import inspect

    import integral_pose.bench.op as op_module
    from integral_pose.geometry import integral

    tree = ast.parse(inspect.getsource(op_module))
    imported = [
        a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == integral.__name__
        for a in n.names
    ]
    assert "soft_argmax_3d_reference" in imported and "soft_argmax_3d" in imported
    assert all(name in integral.__all__ for name in imported), imported

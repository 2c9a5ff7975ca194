"""conv.connectivity: the paths of one convolution against the loop gradient and im2col."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import PROPERTY, geometries

import conv
from conv import connectivity as pb


def test_input_paths_by_hand():
    # 5x5 input, 3x3 kernel, S=1, P=1: the centre pixel feeds all 9 neighbours' outputs.
    paths = pb.input_paths((2, 2), 5, 5, 3, 3, 1, 1)
    assert len(paths) == 9
    assert (1, 1, 2, 2) in paths and (3, 3, 0, 0) in paths
    # Corner pixel (0, 0) with padding 1 feeds the 2x2 outputs at the corner.
    assert sorted((a, b) for a, b, _, _ in pb.input_paths((0, 0), 5, 5, 3, 3, 1, 1)) == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
    ]
    # Stride 2, kernel 1: odd pixels feed nothing.
    assert pb.input_paths((1, 1), 5, 5, 1, 1, 2, 0) == []


def test_input_paths_rejects_bad_pixel_and_geometry():
    with pytest.raises(ValueError, match="outside"):
        pb.input_paths((5, 0), 5, 5, 3, 3, 1, 1)
    with pytest.raises(ValueError, match="not an integer"):
        pb.input_paths((0, 0), 6, 6, 3, 3, 2, 0)


@PROPERTY
@given(g=geometries(max_n=1, max_c=1, max_k=1))
def test_flow_sums_to_the_input_gradient_everywhere(g):
    rng = np.random.default_rng(g.h * 100 + g.w)
    w = rng.standard_normal((g.kh, g.kw))
    dout = rng.standard_normal((g.oh, g.ow))
    dx = conv.naive.conv2d_backward(
        dout[None, None], np.zeros((1, 1, g.h, g.w)), w[None, None], **g.conv_kwargs
    )[0][0, 0]
    counts = conv.overlap_counts((1, 1, g.h, g.w), *g.kernel_args)
    for r in range(g.h):
        for c in range(g.w):
            flow = pb.gradient_flow(dout, w, (r, c), g.h, g.w, **g.conv_kwargs)
            assert flow.total == pytest.approx(dx[r, c], abs=1e-12)
            assert len(flow.paths) == counts[r, c]


@PROPERTY
@given(g=geometries(max_n=1, max_c=1, max_k=1))
def test_receptive_field_matches_the_im2col_column(g):
    x = np.arange(g.h * g.w, dtype=float).reshape(1, 1, g.h, g.w) + 1
    cols = conv.im2col(x, *g.kernel_args)
    for o_r in range(g.oh):
        for o_c in range(g.ow):
            taps = pb.receptive_field((o_r, o_c), g.h, g.w, *g.kernel_args)
            read = [x[0, 0, r, c] if 0 <= r < g.h and 0 <= c < g.w else 0 for r, c, _, _ in taps]
            np.testing.assert_array_equal(read, cols[:, o_r * g.ow + o_c])


@pytest.mark.parametrize(
    ("pixel", "error", "match"),
    [
        ((1.5, 0), TypeError, r"pixel\[0\] must be an integer"),
        ((True, 0), TypeError, r"pixel\[0\] must be an integer"),
        ((1, 2, 3), ValueError, r"pixel must be a pair \(row, col\)"),
        (5, ValueError, "pixel must be a pair"),
        ("ab", ValueError, "pixel must be a pair"),
        ((-1, 0), ValueError, r"pixel\[0\] must be >= 0, got -1"),
    ],
)
def test_positions_must_be_pairs_of_ints(pixel, error, match):
    with pytest.raises(error, match=match):
        pb.input_paths(pixel, 5, 5, 3, 3, 1, 1)
    with pytest.raises(error, match=match.replace("pixel", "out_pos")):
        pb.receptive_field(pixel, 5, 5, 3, 3, 1, 1)


def test_gradient_flow_refuses_complex():
    with pytest.raises(TypeError, match="dout is complex"):
        pb.gradient_flow(np.ones((5, 5)) * 1j, np.ones((3, 3)), (0, 0), 5, 5, 1, 1)


# ---- receptive fields across a stack of layers ----------------------------------------------

L = pb.StackLayer


@pytest.mark.parametrize(
    ("layers", "rf", "jump"),
    [
        ([L(3)] * 3, 7, 1),  # three 3x3 layers see what one 7x7 sees
        ([L(7)], 7, 1),
        ([L(3, 1, 1), L(3, 1, 2), L(3, 1, 4)], 15, 1),  # chapter 7's dilated stack
        ([L(3), L(3), L(2, 2)], 6, 2),  # a VGG block: two 3x3 convs and a 2x2/2 pool
        ([L(3), L(2, 2), L(3), L(2, 2)], 10, 4),
    ],
)
def test_stack_receptive_fields_known_answers(layers, rf, jump):
    rfs, jumps = pb.stack_receptive_fields(layers)
    assert (rfs[-1], jumps[-1]) == (rf, jump)
    assert len(rfs) == len(jumps) == len(layers) + 1
    assert pb.measured_receptive_field(layers) == rf


stacks = st.lists(
    st.builds(L, st.integers(1, 5), st.integers(1, 3), st.integers(1, 3)), min_size=1, max_size=4
)


@PROPERTY
@given(stacks)
def test_the_recurrence_matches_the_backward_pass(layers):
    rfs, _ = pb.stack_receptive_fields(layers)
    assert pb.measured_receptive_field(layers) == rfs[-1]
    # every prefix of the stack too
    for n in range(1, len(layers)):
        assert pb.measured_receptive_field(layers[:n]) == rfs[n]


@pytest.mark.parametrize(
    ("layers", "error", "match"),
    [
        ([], ValueError, "at least one layer"),
        ([(3, 1, 1)], TypeError, "layer 1 must be a StackLayer"),
        ([L(3), L(0)], ValueError, "layer 2 kernel must be >= 1, got 0"),
        ([L(3, 0)], ValueError, "layer 1 stride must be >= 1, got 0"),
        (3, TypeError, "sequence of StackLayer"),
    ],
)
def test_stack_layers_are_checked(layers, error, match):
    with pytest.raises(error, match=match):
        pb.stack_receptive_fields(layers)
    with pytest.raises(error, match=match):
        pb.measured_receptive_field(layers)

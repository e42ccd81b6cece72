"""The homework tasks: one row per solution block id, in lecture order.

Each task names what a student writes, where the equation is (the module
docstring beside the block, and the paper with its section) and how many
points it is worth. The blocks themselves sit in the package source between
``# BEGIN SOLUTION <id>`` and ``# END SOLUTION <id>`` (``markers.py``); its
tests carry ``@pytest.mark.task("<id>")``, and the doctests of a task are
listed here by their pytest node id (a doctest cannot carry a marker).

A stub in a student copy raises ``NotImplementedError(stub_message(task))``,
``"<id>: <todo>; see <reference>"``. Messages hold no double quote and no
backslash, so they read the same inside a string literal and in pytest's
reports.

``PENDING`` holds tasks whose code exists or is being written but whose blocks
and tests are not marked yet: ``make`` and ``grade`` refuse them until they move
to ``TASKS``.

Example:
    >>> by_id("relu-rules").points
    10
    >>> stub_message(by_id("receptive-field"))[:55]
    'receptive-field: for each axis of a window layer with k'
"""

from typing import NamedTuple, Tuple


class Task(NamedTuple):
    """One homework task.

    Attributes:
        id: the block id, lower-case words joined by hyphens (``conv-forward``).
        summary: one line for ``minicnn homework make --all``.
        points: its weight in the score.
        todo: what to implement, in the lecture's symbols.
        reference: where the equation is: the module docstring, the paper and section.
        doctests: pytest node ids of the doctests that exercise the block.
    """
    id: str
    summary: str
    points: int
    todo: str
    reference: str
    doctests: Tuple[str, ...] = ()


TASKS = (
    Task("conv-forward", "im2col: every receptive field of the padded input as a column", 10,
         "build cols (N, C*KH*KW, H'*W') with cols[n, (c, kh, kw), (i, j)] = "
         "xpad[n, c, i*s_h + kh, j*s_w + kw], rows ordered c, then kh, then kw, after "
         "zero-padding x by (p_h, p_w)",
         "the im2col equation in the docstring of minicnn/layers/conv.py; cs231n, "
         "Convolutional Networks, Implementation as Matrix Multiplication"),
    Task("conv-backward", "conv backward: dW, db and dx through col2im, the transposed conv", 15,
         "in col2im add every column back onto the pixels im2col copied it from; in "
         "Conv2d.backward compute, per group, dW = sum_n dout[n] @ cols[n].T and db = dout "
         "summed over n, i, j (stored in self.grads only when param_grads) and return "
         "dx = col2im(W.T @ dout[n])",
         "the Backward equations in the docstring of minicnn/layers/conv.py; cs231n, "
         "Convolutional Networks; Zeiler & Fergus 2014, Sec. 2.1 (the deconvnet's "
         "transposed filters)"),
    Task("maxpool-switches", "max pooling: store the switches, unpool through them", 10,
         "in forward set self.switches[n, c, i, j] = kh*KW + kw of the first maximum of "
         "each window (row-major order breaks ties); in backward add each dout[n, c, i, j] "
         "to the input pixel its switch points at, summing where windows overlap",
         "the docstring of minicnn/layers/pool.py; Zeiler & Fergus 2014, Sec. 2.1 "
         "(unpooling with switches)"),
    Task("relu-rules", "ReLU backward under the three rules: gradient, deconvnet, guided", 10,
         "return dx for the rule: gradient dout * (x > 0), deconvnet dout * (dout > 0), "
         "guided dout * (x > 0) * (dout > 0), where x > 0 is self.active",
         "the table in the docstring of minicnn/layers/relu.py; Simonyan et al. 2014, "
         "Sec. 4; Zeiler & Fergus 2014, Sec. 2.1; Springenberg et al. 2015, Sec. 3.4",
         ("minicnn/layers/relu.py::minicnn.layers.relu",)),
    Task("linear", "fully connected layer: forward and backward", 5,
         "forward: keep x in self.x and return x @ W.T + b; backward: return dx = dout @ W "
         "and, when param_grads, store dW = dout.T @ x and db = dout summed over N in "
         "self.grads",
         "the docstring of minicnn/layers/linear.py; cs231n, Backpropagation"),
    Task("softmax-cross-entropy", "softmax cross-entropy: the loss and its gradient", 10,
         "with log p = log_softmax(scores), return loss = -mean_n log p[n, y[n]] as a float "
         "and dscores = (p - onehot(y)) / N",
         "the equations in the docstring of minicnn/losses.py; cs231n, Softmax classifier",
         ("minicnn/losses.py::minicnn.losses.softmax_cross_entropy",)),
    Task("gradient-check", "numerical gradient by central differences", 5,
         "for every coordinate i set grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2h), "
         "changing x in place and restoring x[i] afterwards",
         "the docstring of minicnn/gradcheck.py; cs231n, Gradient checks"),
    Task("receptive-field", "receptive field size, stride and offset, layer by layer", 10,
         "for each axis of a window layer with kernel k, stride s and padding p: "
         "size += (k - 1) * jump, offset -= p * jump, jump *= s",
         "the recurrence in the docstring of minicnn/receptive_field.py; Araujo et al. "
         "2019, Computing receptive fields of convolutional neural networks (Distill)",
         ("minicnn/receptive_field.py::minicnn.receptive_field",)),
    Task("saliency", "saliency map: the largest input gradient over the colour channels", 5,
         "the saliency map M[n, i, j] = max_c |dS/dx[n, c, i, j]| of gradients(net, x, "
         "target); grayscale=True sums |dS/dx| over c instead",
         "Simonyan et al. 2014, Sec. 3.1, Eq. 3 (docstring of vis/attribution/gradients.py)",
         ("vis/attribution/gradients.py::vis.attribution.gradients",)),
    Task("cam", "class activation map of a GAP -> Linear net", 5,
         "M_c = sum_k w_k^c f_k: take f = net.outputs[feature] (N, K, h, w) and, for each "
         "sample, the row w of the linear layer of its class idx, then sum over k",
         "Zhou et al. 2016, Sec. 2, Eq. 2 (docstring of vis/attribution/cam.py)"),
    Task("gradcam-weights", "Grad-CAM: channel weights from the gradient, weighted map", 5,
         "alpha[n, k] = mean over (i, j) of dA[n, k] (Eq. 1) and maps[n] = "
         "sum_k alpha[n, k] * A[n, k] (Eq. 2 before its ReLU)",
         "Selvaraju et al. 2017, Sec. 3, Eq. 1-2 (docstring of vis/attribution/cam.py)",
         ("vis/attribution/cam.py::vis.attribution.cam",)),
    Task("occlusion", "occlusion: slide a grey square, record the drop of the score", 10,
         "for each window (y, x0) of the chunk fill a copy of sample s with fill over rows "
         "y:y+window and columns x0:x0+window, read the scores with read(xb, s) and store "
         "the drops base - occluded in grid_s (and the probability drops in grid_p for a "
         "class target)",
         "Zeiler & Fergus 2014, Sec. 4.2 (docstring of vis/attribution/occlusion.py)",
         ("vis/attribution/occlusion.py::vis.attribution.occlusion",)),
    Task("total-variation", "total variation regulariser and its gradient", 5,
         "with forward differences Dh = x[i, j+1] - x[i, j] and Dv = x[i+1, j] - x[i, j] "
         "(zero on the last column and row), R = sum (Dh^2 + Dv^2)^(beta/2) per sample, and "
         "dR/dx",
         "Mahendran & Vedaldi 2015, Sec. 3.1 (docstring of total_variation in "
         "vis/objectives/priors.py)"),
    Task("gram-style", "Gram matrix and the style loss of one layer", 10,
         "G = F F^T / g(C, M) with F reshaped to (N, C, M = h*w), and the style term "
         "E = sum (G - A)^2 / l(C, M) with its gradient dE/dF = 4 (G - A) F / (l g), g and l "
         "from STYLE_NORMALIZATIONS",
         "Gatys et al. 2015, Eq. 1 and 4; Gatys et al. 2016, Eq. 4-5 (STYLE_NORMALIZATIONS "
         "in vis/objectives/content_style.py)",
         ("vis/objectives/content_style.py::vis.objectives.content_style.gram_matrix",)),
    Task("deepdream-step", "the normalised gradient step of DeepDream", 5,
         "x += lr * g / mean |g|, the mean taken over each image's pixels and channels",
         "Mordvintsev et al. 2015, Inceptionism, make_step (docstrings of vis/optimize.py "
         "and vis/synthesis/dream.py)",
         ("vis/synthesis/dream.py::vis.synthesis.dream",)),
    Task("tsne-perplexity", "t-SNE: bisection on beta for the target perplexity", 10,
         "for every row i bisect beta_i until Perp(P_i) = exp(H_nats) is within tol of the "
         "perplexity: a row with too many neighbours raises beta (doubling while there is no "
         "upper bound), too few lowers it",
         "van der Maaten & Hinton 2008, Sec. 2 (docstring of vis/features/tsne.py)"),
    Task("fgsm", "fast gradient sign method", 5,
         "x_adv = clip(x + direction * epsilon * k * sign(g)), g = dJ/dx from loss_gradient, "
         "direction -1 for a targeted attack, k = space.k converts pixel units to the "
         "preprocessed input",
         "Goodfellow et al. 2015, Sec. 3 (docstring of vis/adversarial/fast_gradient.py)",
         ("vis/adversarial/fast_gradient.py::vis.adversarial.fast_gradient",)),
)

#: Tasks of the methods still being written: marked in their files once they settle.
PENDING = ()


def by_id(task_id):
    """The :class:`Task` of ``task_id`` (pending ones included).

    Raises:
        ValueError: one line listing the valid ids.
    """
    for task in TASKS + PENDING:
        if task.id == task_id:
            if task in PENDING:
                raise ValueError(f"task {task_id!r} is not marked in the source yet; "
                                 f"valid tasks: {', '.join(ids())}")
            return task
    raise ValueError(f"unknown task {task_id!r}; valid tasks: {', '.join(ids())}")


def ids():
    """The ids of the tasks that can be made and graded, in lecture order."""
    return [task.id for task in TASKS]


def parse_ids(text):
    """``"a,b"`` or ``"all"`` -> the list of task ids, checked, in lecture order.

    Raises:
        ValueError: an unknown or pending id, or an empty list.
    """
    if str(text).strip() == "all":
        return ids()
    wanted = [part.strip() for part in str(text).split(",") if part.strip()]
    if not wanted:
        raise ValueError(f"no task given; valid tasks: {', '.join(ids())} (or all)")
    for task_id in wanted:
        by_id(task_id)
    return [task_id for task_id in ids() if task_id in wanted]


def stub_message(task):
    """``"<id>: <todo>; see <reference>"``: what a stub raises."""
    return f"{task.id}: {task.todo}; see {task.reference}"


def listing():
    """One line per task (id, points, summary) and the total, for ``make --all``."""
    width = max(len(task.id) for task in TASKS)
    lines = [f"{task.id:<{width}}  {task.points:>3} pts  {task.summary}" for task in TASKS]
    lines.append(f"{'total':<{width}}  {sum(t.points for t in TASKS):>3} pts")
    for task in PENDING:
        lines.append(f"{task.id:<{width}}    -      {task.summary} (not marked yet)")
    return "\n".join(lines)

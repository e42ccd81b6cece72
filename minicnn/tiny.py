"""The embedded model: ``tiny()`` trained on the shapes data, reproducibly.

The recipe below is the whole story of ``minicnn/weights/tiny.npz``: the same seed,
the same number of BLAS threads and the same NumPy give the same weights bit
for bit (``minicnn train-tiny``). Accuracy is measured on fresh images drawn
with a seed never used in training (``TEST_SEED``).

The shipped file was trained with one BLAS thread (``OPENBLAS_NUM_THREADS=1
minicnn train-tiny``): for matrices this small one thread is as fast as two,
it does not collapse when other programs share the cores (two spinning
OpenBLAS threads did, 20x), and bit-exact reproduction needs the same count.

Recipe: ``N_TRAIN`` images from ``TRAIN_SEED``, Adam (Kingma & Ba 2015) with
a step learning-rate schedule, minibatches of ``BATCH``, ``EPOCHS`` epochs,
random horizontal flips (every class is mirror-symmetric up to a rotation).
"""

import time

from . import models
from .data import CLASS_NAMES, TEST_SEED, TRAIN_SEED, VAL_SEED, make_shapes
from .optim import Adam
from .preprocessing import preprocess
from .train import accuracy, train

__all__ = ["TRAIN_SEED", "VAL_SEED", "TEST_SEED", "N_TRAIN", "N_VAL", "N_TEST", "EPOCHS",
           "BATCH", "WIDTH", "MODEL_SEED", "lr_schedule", "train_tiny", "test_accuracy"]

N_TRAIN = 16000
N_VAL = 1000
N_TEST = 2000
EPOCHS = 12
BATCH = 32
WIDTH = (8, 16, 32, 64)
MODEL_SEED = 0


def lr_schedule(epoch):
    """Adam's default 1e-3, then 3e-4 and 1e-4 for the last four and two epochs."""
    if epoch < EPOCHS - 4:
        return 1e-3
    return 3e-4 if epoch < EPOCHS - 2 else 1e-4


def _flip(batch, rng):
    flip = rng.random(len(batch)) < 0.5
    batch = batch.copy()
    batch[flip] = batch[flip, :, :, ::-1]
    return batch


def train_tiny(epochs=None, n_train=N_TRAIN, seed=TRAIN_SEED, progress=True):
    """Train ``tiny()`` on shapes from the recipe; returns (net, history, seconds)."""
    epochs = EPOCHS if epochs is None else epochs
    start = time.perf_counter()
    net = models.tiny(num_classes=len(CLASS_NAMES), width=WIDTH, seed=MODEL_SEED,
                      class_names=list(CLASS_NAMES))
    data = make_shapes(n_train, seed=seed)
    val = make_shapes(N_VAL, seed=VAL_SEED)
    x = preprocess(data.images, net.meta)
    history = train(net, x, data.labels, epochs=epochs, batch_size=BATCH,
                    optimizer=Adam(lr=lr_schedule(0)), seed=seed, augment=_flip,
                    lr_schedule=lr_schedule,
                    val=(preprocess(val.images, net.meta), val.labels), progress=progress)
    net.meta["source"] = {"file": "minicnn.tiny.train_tiny", "sha256": None,
                          "recipe": {"train_seed": seed, "n_train": n_train, "epochs": epochs,
                                     "batch": BATCH, "width": list(WIDTH)}}
    return net, history, time.perf_counter() - start


def test_accuracy(net, n=N_TEST, seed=TEST_SEED):
    """Accuracy of ``net`` on ``n`` fresh shapes from a seed not used in training."""
    data = make_shapes(n, seed=seed)
    return accuracy(net, preprocess(data.images, net.meta), data.labels)


if __name__ == "__main__":
    net, history, seconds = train_tiny()
    print(f"trained in {seconds:.0f} s; val acc per epoch {history['val_acc']}; "
          f"test acc {test_accuracy(net):.4f}")

"""The ``minicnn`` subcommands, one module per group; each has ``register(subparsers)``.

===============  ==========================================================
``tour.py``      ``minicnn tour``
``maps.py``      one subcommand per map method of the registry, ``localize``
``features.py``  ``activations``, ``filters``
``weights.py``   ``weights list|fetch|convert``
``engine.py``    ``summary``, ``bench``, ``train-tiny``
``examples.py``  ``examples --list | run NN | notebooks``
``homework.py``  ``homework make | grade``: a student copy and its grading
``common.py``    the steps they share: model, inputs, targets, saving
===============  ==========================================================
"""

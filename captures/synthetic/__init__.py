"""Synthetic data for tests, demos, load tests and training: never part of the running portal.

``plates``: the one plate renderer (plates, camera damage, vehicle photos); ``simulate``:
cameras pushing rendered captures through the real camera API. Runtime modules never import
this package (tests/test_layout.py checks); the demo seed, ``manage.py simulate_cameras``,
the training package, the tests and the benchmarks do.
"""

"""Training the plate recognizer: synthetic samples (``samples``) and the fine-tuning loop
(``train``).

Apart from inference: nothing in ``captures.reading`` outside this package imports it
(tests/test_layout.py checks), so the portal never loads training code. Entry points:
``manage.py train_plate_reader``, ``python -m captures.reading.training``, ``make train``.
"""

"""The plate_v2 recognizer: easyocr's generation-2 CRNN (VGG + BiLSTM + CTC), fine-tuned.

easyocr imports this module by name from ``user_network_directory`` when the reader is
built with ``recog_network="plate_v2"``; the architecture is english_g2's, unchanged.
"""

from easyocr.model.vgg_model import Model  # noqa: F401

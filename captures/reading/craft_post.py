"""CRAFT's pre- and post-processing, copied unchanged from easyocr 1.7.2 (Apache License 2.0,
Copyright JaidedAI; ``imgproc.py``, ``craft_utils.py``, ``utils.py``), for the ONNX Runtime
engine: easyocr's package imports torch on import, and the point of that engine is a worker
without torch.  Only the paths the reader uses are kept (no polygons; character counts raise).
``detect`` is ``easyocr.Reader.detect`` with its default thresholds around a network call.
"""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

import math

import cv2
import numpy as np


def normalizeMeanVariance(in_img, mean=(0.485, 0.456, 0.406), variance=(0.229, 0.224, 0.225)):
    # should be RGB order
    img = in_img.copy().astype(np.float32)

    img -= np.array([mean[0] * 255.0, mean[1] * 255.0, mean[2] * 255.0], dtype=np.float32)
    img /= np.array(
        [variance[0] * 255.0, variance[1] * 255.0, variance[2] * 255.0], dtype=np.float32
    )
    return img


def resize_aspect_ratio(img, square_size, interpolation, mag_ratio=1):
    height, width, channel = img.shape

    # magnify image size
    target_size = mag_ratio * max(height, width)

    # set original image size
    if target_size > square_size:
        target_size = square_size

    ratio = target_size / max(height, width)

    target_h, target_w = int(height * ratio), int(width * ratio)
    proc = cv2.resize(img, (target_w, target_h), interpolation=interpolation)

    # make canvas and paste image
    target_h32, target_w32 = target_h, target_w
    if target_h % 32 != 0:
        target_h32 = target_h + (32 - target_h % 32)
    if target_w % 32 != 0:
        target_w32 = target_w + (32 - target_w % 32)
    resized = np.zeros((target_h32, target_w32, channel), dtype=np.float32)
    resized[0:target_h, 0:target_w, :] = proc
    target_h, target_w = target_h32, target_w32

    size_heatmap = (int(target_w / 2), int(target_h / 2))

    return resized, ratio, size_heatmap


def getDetBoxes_core(
    textmap, linkmap, text_threshold, link_threshold, low_text, estimate_num_chars=False
):
    # prepare data
    linkmap = linkmap.copy()
    textmap = textmap.copy()
    img_h, img_w = textmap.shape

    """ labeling method """
    ret, text_score = cv2.threshold(textmap, low_text, 1, 0)
    ret, link_score = cv2.threshold(linkmap, link_threshold, 1, 0)

    text_score_comb = np.clip(text_score + link_score, 0, 1)
    nLabels, labels, stats, centroids = cv2.connectedComponentsWithStats(
        text_score_comb.astype(np.uint8), connectivity=4
    )

    det = []
    mapper = []
    for k in range(1, nLabels):
        # size filtering
        size = stats[k, cv2.CC_STAT_AREA]
        if size < 10:
            continue

        # thresholding
        if np.max(textmap[labels == k]) < text_threshold:
            continue

        # make segmentation map
        segmap = np.zeros(textmap.shape, dtype=np.uint8)
        segmap[labels == k] = 255
        if estimate_num_chars:
            _, character_locs = cv2.threshold(
                (textmap - linkmap) * segmap / 255.0, text_threshold, 1, 0
            )
            raise NotImplementedError("character counts are not used by the reader")
        else:
            mapper.append(k)
        segmap[np.logical_and(link_score == 1, text_score == 0)] = 0  # remove link area
        x, y = stats[k, cv2.CC_STAT_LEFT], stats[k, cv2.CC_STAT_TOP]
        w, h = stats[k, cv2.CC_STAT_WIDTH], stats[k, cv2.CC_STAT_HEIGHT]
        niter = int(math.sqrt(size * min(w, h) / (w * h)) * 2)
        sx, ex, sy, ey = x - niter, x + w + niter + 1, y - niter, y + h + niter + 1
        # boundary check
        if sx < 0:
            sx = 0
        if sy < 0:
            sy = 0
        if ex >= img_w:
            ex = img_w
        if ey >= img_h:
            ey = img_h
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1 + niter, 1 + niter))
        segmap[sy:ey, sx:ex] = cv2.dilate(segmap[sy:ey, sx:ex], kernel)

        # make box
        np_contours = np.roll(np.array(np.where(segmap != 0)), 1, axis=0).transpose().reshape(-1, 2)
        rectangle = cv2.minAreaRect(np_contours)
        box = cv2.boxPoints(rectangle)

        # align diamond-shape
        w, h = np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[1] - box[2])
        box_ratio = max(w, h) / (min(w, h) + 1e-5)
        if abs(1 - box_ratio) <= 0.1:
            l, r = min(np_contours[:, 0]), max(np_contours[:, 0])
            t, b = min(np_contours[:, 1]), max(np_contours[:, 1])
            box = np.array([[l, t], [r, t], [r, b], [l, b]], dtype=np.float32)

        # make clock-wise order
        startidx = box.sum(axis=1).argmin()
        box = np.roll(box, 4 - startidx, 0)
        box = np.array(box)

        det.append(box)

    return det, labels, mapper


def adjustResultCoordinates(polys, ratio_w, ratio_h, ratio_net=2):
    if len(polys) > 0:
        polys = np.array(polys)
        for k in range(len(polys)):
            if polys[k] is not None:
                polys[k] *= (ratio_w * ratio_net, ratio_h * ratio_net)
    return polys


def group_text_box(
    polys,
    slope_ths=0.1,
    ycenter_ths=0.5,
    height_ths=0.5,
    width_ths=1.0,
    add_margin=0.05,
    sort_output=True,
):
    # poly top-left, top-right, low-right, low-left
    horizontal_list, free_list, combined_list, merged_list = [], [], [], []

    for poly in polys:
        slope_up = (poly[3] - poly[1]) / np.maximum(10, (poly[2] - poly[0]))
        slope_down = (poly[5] - poly[7]) / np.maximum(10, (poly[4] - poly[6]))
        if max(abs(slope_up), abs(slope_down)) < slope_ths:
            x_max = max([poly[0], poly[2], poly[4], poly[6]])
            x_min = min([poly[0], poly[2], poly[4], poly[6]])
            y_max = max([poly[1], poly[3], poly[5], poly[7]])
            y_min = min([poly[1], poly[3], poly[5], poly[7]])
            horizontal_list.append(
                [x_min, x_max, y_min, y_max, 0.5 * (y_min + y_max), y_max - y_min]
            )
        else:
            height = np.linalg.norm([poly[6] - poly[0], poly[7] - poly[1]])
            width = np.linalg.norm([poly[2] - poly[0], poly[3] - poly[1]])

            margin = int(1.44 * add_margin * min(width, height))

            theta13 = abs(np.arctan((poly[1] - poly[5]) / np.maximum(10, (poly[0] - poly[4]))))
            theta24 = abs(np.arctan((poly[3] - poly[7]) / np.maximum(10, (poly[2] - poly[6]))))
            # do I need to clip minimum, maximum value here?
            x1 = poly[0] - np.cos(theta13) * margin
            y1 = poly[1] - np.sin(theta13) * margin
            x2 = poly[2] + np.cos(theta24) * margin
            y2 = poly[3] - np.sin(theta24) * margin
            x3 = poly[4] + np.cos(theta13) * margin
            y3 = poly[5] + np.sin(theta13) * margin
            x4 = poly[6] - np.cos(theta24) * margin
            y4 = poly[7] + np.sin(theta24) * margin

            free_list.append([[x1, y1], [x2, y2], [x3, y3], [x4, y4]])
    if sort_output:
        horizontal_list = sorted(horizontal_list, key=lambda item: item[4])

    # combine box
    new_box = []
    for poly in horizontal_list:
        if len(new_box) == 0:
            b_height = [poly[5]]
            b_ycenter = [poly[4]]
            new_box.append(poly)
        else:
            # comparable height and comparable y_center level up to ths*height
            if abs(np.mean(b_ycenter) - poly[4]) < ycenter_ths * np.mean(b_height):
                b_height.append(poly[5])
                b_ycenter.append(poly[4])
                new_box.append(poly)
            else:
                b_height = [poly[5]]
                b_ycenter = [poly[4]]
                combined_list.append(new_box)
                new_box = [poly]
    combined_list.append(new_box)

    # merge list use sort again
    for boxes in combined_list:
        if len(boxes) == 1:  # one box per line
            box = boxes[0]
            margin = int(add_margin * min(box[1] - box[0], box[5]))
            merged_list.append([box[0] - margin, box[1] + margin, box[2] - margin, box[3] + margin])
        else:  # multiple boxes per line
            boxes = sorted(boxes, key=lambda item: item[0])

            merged_box, new_box = [], []
            for box in boxes:
                if len(new_box) == 0:
                    b_height = [box[5]]
                    x_max = box[1]
                    new_box.append(box)
                else:
                    if (abs(np.mean(b_height) - box[5]) < height_ths * np.mean(b_height)) and (
                        (box[0] - x_max) < width_ths * (box[3] - box[2])
                    ):  # merge boxes
                        b_height.append(box[5])
                        x_max = box[1]
                        new_box.append(box)
                    else:
                        b_height = [box[5]]
                        x_max = box[1]
                        merged_box.append(new_box)
                        new_box = [box]
            if len(new_box) > 0:
                merged_box.append(new_box)

            for mbox in merged_box:
                if len(mbox) != 1:  # adjacent box in same line
                    # do I need to add margin here?
                    x_min = min(mbox, key=lambda x: x[0])[0]
                    x_max = max(mbox, key=lambda x: x[1])[1]
                    y_min = min(mbox, key=lambda x: x[2])[2]
                    y_max = max(mbox, key=lambda x: x[3])[3]

                    box_width = x_max - x_min
                    box_height = y_max - y_min
                    margin = int(add_margin * (min(box_width, box_height)))

                    merged_list.append(
                        [x_min - margin, x_max + margin, y_min - margin, y_max + margin]
                    )
                else:  # non adjacent box in same line
                    box = mbox[0]

                    box_width = box[1] - box[0]
                    box_height = box[3] - box[2]
                    margin = int(add_margin * (min(box_width, box_height)))

                    merged_list.append(
                        [box[0] - margin, box[1] + margin, box[2] - margin, box[3] + margin]
                    )
    # may need to check if box is really in image
    return merged_list, free_list


# Tall inputs (vehicle photos) go through the network in strips of STRIP rows, each with
# PAD rows of context above and below, and the score maps' core rows are stacked: the first
# layers' activations of a 1280 x 960 photo alone take ~600 MB, a strip's half of that.
# Measured on the dev photos (bench_plates.py --part vehicles, photos at most 1280 px): strips
# of 192 + 2 x 32 rows found the plate in 74.7% (exact 44.4%; too little context at the seams),
# no strips 77.8% (48.5%) at a peak of 813 MB, 320 + 2 x 80 rows 78.8% (49.5%) at a peak of
# 577 MB.  Photos are now detected at most 960 px wide (``vehicle.MAX_SIDE``), so a strip of
# 480 + 2 x 80 rows holds as many pixels as 320 + 2 x 80 did at 1280, and a 16:9 photo
# (960 x 540) goes through in one pass.
STRIP = 480
PAD = 80


def _strips(run, x):
    h = x.shape[2]
    if h <= STRIP + 2 * PAD:
        return run(x)
    parts = []
    for top in range(0, h, STRIP):
        a, b = max(0, top - PAD), min(h, top + STRIP + PAD)
        y = run(np.ascontiguousarray(x[:, :, a:b]))
        start = (top - a) // 2
        parts.append(y[:, start : start + min(STRIP, h - top) // 2])
    return np.concatenate(parts, axis=1)


def detect(
    run,
    img: np.ndarray,
    *,
    min_size=20,
    text_threshold=0.7,
    low_text=0.4,
    link_threshold=0.4,
    canvas_size=2560,
    mag_ratio=1.0,
    slope_ths=0.1,
    ycenter_ths=0.5,
    height_ths=0.5,
    width_ths=0.5,
    add_margin=0.1,
):
    """Horizontal text boxes [x_min, x_max, y_min, y_max] of an RGB image, as easyocr's
    ``Reader.detect`` gives them; ``run(x)`` maps a (1, 3, H, W) float32 batch to the
    (1, H/2, W/2, 2) score maps."""
    img_resized, target_ratio, _size_heatmap = resize_aspect_ratio(
        img, canvas_size, interpolation=cv2.INTER_LINEAR, mag_ratio=mag_ratio
    )
    x = np.transpose(normalizeMeanVariance(img_resized), (2, 0, 1))[None]
    out = _strips(run, np.ascontiguousarray(x, dtype=np.float32))[0]
    return _boxes(
        out,
        target_ratio,
        min_size=min_size,
        text_threshold=text_threshold,
        low_text=low_text,
        link_threshold=link_threshold,
        slope_ths=slope_ths,
        ycenter_ths=ycenter_ths,
        height_ths=height_ths,
        width_ths=width_ths,
        add_margin=add_margin,
    )


def detect_many(run, imgs: list[np.ndarray], **kwargs):
    """``detect`` for several images of one height in one network call (a batch padded on
    the right to the widest); each image's score maps are cut back to its own size."""
    if len({img.shape[0] for img in imgs}) != 1 or imgs[0].shape[0] > STRIP + 2 * PAD:
        return [detect(run, img, **kwargs) for img in imgs]
    prepared = []
    for img in imgs:
        resized, ratio, _ = resize_aspect_ratio(
            img, kwargs.get("canvas_size", 2560), interpolation=cv2.INTER_LINEAR, mag_ratio=1.0
        )
        prepared.append((np.transpose(normalizeMeanVariance(resized), (2, 0, 1)), ratio))
    h = max(x.shape[1] for x, _ in prepared)
    w = max(x.shape[2] for x, _ in prepared)
    # Pad with what a black pixel normalises to, as resize_aspect_ratio's own padding does.
    black = normalizeMeanVariance(np.zeros((1, 1, 3), np.float32))[0, 0]
    batch = np.empty((len(prepared), 3, h, w), np.float32)
    batch[:] = black[None, :, None, None]
    for i, (x, _) in enumerate(prepared):
        batch[i, :, : x.shape[1], : x.shape[2]] = x
    maps = run(batch)
    out = []
    for i, (x, ratio) in enumerate(prepared):
        own = maps[i, : x.shape[1] // 2, : x.shape[2] // 2]
        out.append(_boxes(own, ratio, **kwargs))
    return out


def _boxes(
    out,
    target_ratio,
    *,
    min_size=20,
    text_threshold=0.7,
    low_text=0.4,
    link_threshold=0.4,
    canvas_size=2560,
    slope_ths=0.1,
    ycenter_ths=0.5,
    height_ths=0.5,
    width_ths=0.5,
    add_margin=0.1,
):
    ratio_h = ratio_w = 1 / target_ratio
    boxes, _labels, _mapper = getDetBoxes_core(
        out[:, :, 0], out[:, :, 1], text_threshold, link_threshold, low_text
    )
    boxes = adjustResultCoordinates(boxes, ratio_w, ratio_h)
    polys = [np.array(box).astype(np.int32).reshape((-1)) for box in boxes]
    horizontal_list, _free = group_text_box(
        polys, slope_ths, ycenter_ths, height_ths, width_ths, add_margin, True
    )
    if min_size:
        horizontal_list = [i for i in horizontal_list if max(i[1] - i[0], i[3] - i[2]) > min_size]
    return horizontal_list

"""Alignment templates: turn a detected face into the chip an embedding model was trained on.

Two templates, chosen by the model card (``alignment:``):

``dlib-chip``
    dlib's ``get_face_chip`` (150 px, padding 0.25) from dlib's 5- or 68-point landmarks: the chip
    dlib's ResNet is fed inside ``compute_face_descriptor``.
``arcface-112``
    insightface's five-point similarity alignment to 112x112 (``face_align.norm_crop``): a
    least-squares similarity transform (Umeyama 1991) from five keypoints onto insightface's published
    template, applied with ``cv2.warpAffine``. ArcFace/buffalo, SFace and EdgeFace use this template.

Keypoints for ``arcface-112`` come from (first match wins; sources with all five points first):

- five detector keypoints (``Detection.keypoints``) in ArcFace order (image-left eye, image-right
  eye, nose tip, image-left mouth corner, image-right mouth corner), as SCRFD/RetinaFace/YuNet give;
- dlib 68-point landmarks: eye centres (means of 36-41 and 42-47), nose tip 30, mouth corners 48/54 —
  all five template points, exactly;
- six BlazeFace keypoints (right eye, left eye, nose tip, mouth centre, right ear, left ear): the
  mouth centre is matched to the midpoint of the template's mouth corners (4 correspondences: an
  approximation);
- dlib 5-point landmarks: they have eye corners and the base of the nose (not its tip) and no mouth
  corners. Only the two eye centres match template points, so by default this is an error; with
  ``partial=True`` the similarity is fitted to the two eyes alone (rotation, scale and shift are
  then fixed by the eyes, and the mouth may sit a few pixels off the template).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from harness.errors import ConfigError

#: insightface ``arcface_dst`` (python-package/insightface/utils/face_align.py), pixels in a 112x112
#: chip: image-left eye, image-right eye, nose tip, image-left mouth corner, image-right mouth corner.
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)
ARCFACE_NAMES = ("eye_left", "eye_right", "nose_tip", "mouth_left", "mouth_right")

#: dlib's chip as used by dlib_face_recognition_resnet_model_v1 (dlib's face_recognition.py example).
DLIB_CHIP_SIZE = 150
DLIB_CHIP_PADDING = 0.25

TEMPLATES = {
    "dlib-chip": "dlib.get_face_chip from dlib 5/68-point landmarks (150 px, padding 0.25)",
    "arcface-112": "insightface five-point similarity alignment to 112x112 (Umeyama, cv2.warpAffine)",
}


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, shift) mapping ``src`` onto ``dst``.

    Umeyama (1991), "Least-squares estimation of transformation parameters between two point
    patterns", IEEE TPAMI 13(4), with reflections excluded.

    Parameters
    ----------
    src, dst : (K, 2) arrays, K >= 2 corresponding points.

    Returns
    -------
    (2, 3) affine matrix ``M`` with ``dst ≈ src @ M[:, :2].T + M[:, 2]``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"umeyama needs two (K>=2, 2) point sets of equal shape, got {src.shape}, {dst.shape}")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s_c, d_c = src - mu_s, dst - mu_d
    var_s = (s_c ** 2).sum() / len(src)
    if var_s <= 0:
        raise ValueError("umeyama: the source points coincide")
    cov = d_c.T @ s_c / len(src)
    u, sing, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection would fit better: forbid it
        d[1] = -1
    rot = u @ np.diag(d) @ vt
    scale = float((sing * d).sum() / var_s)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def keypoints_of(face: Any, partial: bool = False) -> tuple[np.ndarray, np.ndarray, str]:
    """Corresponding (source points, template points in the 112 chip, mapping name) for ``face``.

    Raises ConfigError when the face's landmarks cannot give the template's points.
    """
    kps = getattr(face, "keypoints", None)
    k = np.asarray(kps if kps is not None else np.zeros((0, 2)), dtype=np.float64).reshape(-1, 2)
    lm = np.asarray(getattr(face, "landmarks", np.zeros((0, 2))), dtype=np.float64).reshape(-1, 2)
    # Sources giving all five template points come first; partial ones only when nothing better exists.
    if len(k) == 5:
        return k, ARCFACE_112, "detector-5"
    if len(lm) == 68:
        src = np.array([lm[36:42].mean(axis=0), lm[42:48].mean(axis=0), lm[30], lm[48], lm[54]])
        return src, ARCFACE_112, "dlib-68:eye-centres,nose-tip-30,mouth-48/54"
    if len(k) == 6:
        # BlazeFace: right eye (subject's, image left), left eye, nose tip, mouth centre, ears.
        mouth_mid = ARCFACE_112[3:5].mean(axis=0)
        return k[:4], np.vstack([ARCFACE_112[:3], mouth_mid]), "blazeface-6:eyes+nose+mouth-centre"
    if len(k):
        raise ConfigError(f"detector keypoints: {len(k)} points; arcface-112 alignment understands 5 (ArcFace "
                          "order) or 6 (BlazeFace)")
    if len(lm) == 5:
        # dlib 5-point: 0,1 = corners of the image-right eye; 2,3 = image-left eye; 4 = base of the nose.
        if not partial:
            raise ConfigError(
                "arcface-112 alignment needs five keypoints (eyes, nose tip, mouth corners); dlib's 5-point "
                "landmarks have no mouth corners and mark the base of the nose, not its tip: set "
                "detector.landmarks=68, or accept an eyes-only alignment with embedder.partial_landmarks=true")
        src = np.array([lm[2:4].mean(axis=0), lm[0:2].mean(axis=0)])
        return src, ARCFACE_112[:2], "dlib-5:eye-centres-only"
    raise ConfigError(f"arcface-112 alignment: the detector gave {len(lm)} landmarks and no keypoints; use a "
                      "detector with 5- or 68-point landmarks")


def arcface_chip(image: np.ndarray, face: Any, size: int = 112, partial: bool = False) -> np.ndarray:
    """The (size, size, 3) uint8 chip of insightface's ``norm_crop`` for ``face``.

    For ``size`` other than 112 the template is scaled by ``size / 112`` (insightface does the same
    for multiples of 112; for 128 it also shifts x by 8, which is not reproduced here).
    """
    import cv2

    src, dst, _ = keypoints_of(face, partial)
    m = umeyama(src, dst * (size / 112.0))
    return cv2.warpAffine(np.ascontiguousarray(image), m, (size, size), borderValue=0.0)


def dlib_chip(image: np.ndarray, face: Any, size: int = DLIB_CHIP_SIZE,
              padding: float = DLIB_CHIP_PADDING) -> np.ndarray:
    """dlib's ``get_face_chip`` for ``face`` (needs dlib 5- or 68-point landmarks)."""
    import dlib

    lm = np.asarray(getattr(face, "landmarks", np.zeros((0, 2)))).reshape(-1, 2)
    if len(lm) not in (5, 68):
        raise ConfigError(f"dlib-chip alignment needs dlib 5- or 68-point landmarks; the detector gave {len(lm)} "
                          "(use a dlib detector, or a model whose card says alignment: arcface-112)")
    rect = dlib.rectangle(*[int(v) for v in face.box])
    pts = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in lm])
    shape = dlib.full_object_detection(rect, pts)
    return dlib.get_face_chip(np.ascontiguousarray(image, dtype=np.uint8), shape, size=int(size),
                              padding=float(padding))


def align(image: np.ndarray, face: Any, template: str, size: tuple[int, int],
          padding: float = DLIB_CHIP_PADDING, partial: bool = False) -> np.ndarray:
    """The (H, W, 3) uint8 RGB chip for ``face`` under ``template``, resized to ``size`` = (H, W) if needed."""
    h, w = size
    if template == "dlib-chip":
        chip = dlib_chip(image, face, DLIB_CHIP_SIZE, padding)
    elif template == "arcface-112":
        chip = arcface_chip(image, face, h if (h == w and h % 112 == 0) else 112, partial)
    else:
        raise ConfigError(f"alignment {template!r}: unknown template; choose one of {', '.join(TEMPLATES)}")
    if chip.shape[:2] != (h, w):
        import cv2

        chip = cv2.resize(chip, (w, h), interpolation=cv2.INTER_LINEAR)
    return chip


def describe(template: str, size: tuple[int, int], padding: float, partial: bool,
             mapping: Optional[str] = None) -> dict[str, Any]:
    """Provenance of an alignment (everything that changes the chip)."""
    d: dict[str, Any] = {"template": template, "chip_size": list(size)}
    if template == "dlib-chip":
        d.update(source_size=DLIB_CHIP_SIZE, padding=padding)
    else:
        d.update(points=ARCFACE_112.tolist(), partial_landmarks=partial, method="umeyama similarity, cv2.warpAffine")
    if mapping:
        d["landmark_mapping"] = mapping
    return d

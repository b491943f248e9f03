"""Synthetic in-app delivery photos for tests and benchmarks.

The renderer itself (`PhotoSpec`, `make_photo`, `sign_photo`, `make_device_key`, `offset_point`,
`true_label_share` and the defaults) lives in `infra/devstack/doorstep_photo.py`, so that `courier-api
simulate` works from an installed package; it is re-exported here unchanged. What stays here only serves
the tests and benchmarks: XMP payload builders and the honest-photo sample `honest_specs`.
"""

from __future__ import annotations

import numpy as np

from infra.devstack.doorstep_photo import (
    DEFAULT_ADDRESS,
    DEFAULT_CAPTURED_AT,
    DEFAULT_LABEL_CODE,
    DEFAULT_NONCE,
    BarcodeKind,
    PhotoSpec,
    Scene,
    make_device_key,
    make_photo,
    offset_point,
    sign_photo,
    true_label_share,
)

__all__ = [
    "DEFAULT_ADDRESS",
    "DEFAULT_CAPTURED_AT",
    "DEFAULT_LABEL_CODE",
    "DEFAULT_NONCE",
    "BarcodeKind",
    "PhotoSpec",
    "Scene",
    "honest_specs",
    "make_device_key",
    "make_photo",
    "offset_point",
    "sign_photo",
    "true_label_share",
    "xmp_extension_chunk",
    "xmp_packet",
]


def xmp_packet(body: str) -> bytes:
    """A standard XMP APP1 payload: the namespace header, then a packet wrapping `body` (RDF)."""
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{body}</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )
    return b"http://ns.adobe.com/xap/1.0/\x00" + packet.encode()


def xmp_extension_chunk(guid: bytes, full: bytes, offset: int, size: int) -> bytes:
    """An Extended XMP APP1 payload holding `full[offset : offset + size]`."""
    header = guid + len(full).to_bytes(4, "big") + offset.to_bytes(4, "big")
    return b"http://ns.adobe.com/xmp/extension/\x00" + header + full[offset : offset + size]


# Phone sensor sizes (landscape); portrait photos swap them.
SENSORS: tuple[tuple[int, int], ...] = ((3264, 2448), (4000, 3000), (4624, 3472), (6000, 4000), (8000, 6000))
_HARD: tuple[dict[str, object], ...] = (
    {},  # the plain doorstep, as before
    {"scene": "light_wall"},
    {"scene": "white_wall"},
    {"scene": "white_door"},
    {"scene": "light_parcel"},
    {"paper_level": 205},  # light grey paper
    {"paper_level": 228, "paper_tint": (1.0, 0.97, 0.88)},  # off-white paper
    {"edge": True},  # the sheet touches the frame's edge
)


def honest_specs(
    count: int, *, seed: int = 0, sensors: tuple[tuple[int, int], ...] = SENSORS
) -> list[PhotoSpec]:
    """`count` honest door photos covering every hard case, in an order that reuses backgrounds.

    Each has the phone's auto-exposure (mean luminance 95-140), a Code128, QR or DataMatrix
    label of 3-12% of the frame tilted by up to 8 degrees, landscape or portrait. Case i takes
    `_HARD[i % len(_HARD)]`, and every case is also mixed with grey paper or a light scene.
    """
    rng = np.random.default_rng(seed)
    kinds: tuple[BarcodeKind, ...] = ("code128", "code128", "qr", "datamatrix")
    scenes: tuple[Scene, ...] = ("doorstep", "light_wall", "white_wall", "white_door", "light_parcel")
    specs: list[PhotoSpec] = []
    for index in range(count):
        hard = dict(_HARD[index % len(_HARD)])
        w, h = sensors[int(rng.integers(len(sensors)))] if len(sensors) > 1 else sensors[0]
        if rng.random() < 0.4:
            w, h = h, w
        edge = bool(hard.pop("edge", False))
        cx, cy = float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.35, 0.7))
        if edge:
            side = int(rng.integers(4))
            cx, cy = ((0.0, cy), (1.0, cy), (cx, 0.0), (cx, 1.0))[side]
        kind = kinds[int(rng.integers(len(kinds)))]
        paper = (
            int(rng.integers(200, 246)) if "paper_level" not in hard else int(str(hard.pop("paper_level")))
        )
        scene: Scene = str(hard.pop("scene")) if "scene" in hard else scenes[int(rng.integers(len(scenes)))]  # type: ignore[assignment]
        specs.append(
            PhotoSpec(
                seed=int(rng.integers(2)),
                width=w,
                height=h,
                barcode=kind,
                label_share=float(rng.uniform(0.03, 0.12)),
                angle=float(rng.uniform(-8.0, 8.0)),
                label_center=(cx, cy),
                paper_level=paper,
                paper_tint=hard.pop("paper_tint", (1.0, 1.0, 1.0)),  # type: ignore[arg-type]
                scene=scene,
                exposure_mean=float(rng.uniform(95.0, 140.0)),
            )
        )
    specs.sort(key=lambda s: (s.width, s.height, s.scene, s.seed))
    return specs

"""CAD-viewport-like captures drawn in code: massing boxes in perspective, black edges, glazing,
on the backgrounds SketchUp, Revit and Rhino show. The tests and bench/gallery.py use them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

Vec = tuple[float, float, float]
Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Box:
    x: float  # ground-plane corner (metres), y is up
    z: float
    width: float  # along x
    depth: float  # along z
    height: float
    colour: Colour = (236, 236, 232)
    floors: int = 0  # rows of windows on the two visible walls; 0 = none
    brick: bool = False  # a running-bond pattern on the faces


@dataclass(frozen=True)
class Camera:
    eye: Vec = (-22.0, 4.0, -34.0)
    target: Vec = (6.0, 6.5, 8.0)
    focal: float = 1.0  # × image width


def _project(points: np.ndarray, camera: Camera, size: tuple[int, int]) -> np.ndarray:
    eye, target = np.array(camera.eye), np.array(camera.target)
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(np.array([0.0, 1.0, 0.0]), forward)
    right /= np.linalg.norm(right)
    up = np.cross(forward, right)
    rel = points - eye
    x, y, z = rel @ right, rel @ up, rel @ forward
    width, height = size
    f = camera.focal * width
    return np.stack([width / 2 + f * x / z, height / 2 - f * y / z], axis=-1)


def _faces(box: Box) -> list[tuple[np.ndarray, Vec]]:
    """(4 corners, outward normal) of the walls and the roof."""
    x0, z0, x1, z1, h = box.x, box.z, box.x + box.width, box.z + box.depth, box.height

    def quad(*corners: Vec) -> np.ndarray:
        return np.array(corners, float)

    return [
        (quad((x0, 0, z0), (x1, 0, z0), (x1, h, z0), (x0, h, z0)), (0, 0, -1)),
        (quad((x1, 0, z1), (x0, 0, z1), (x0, h, z1), (x1, h, z1)), (0, 0, 1)),
        (quad((x0, 0, z1), (x0, 0, z0), (x0, h, z0), (x0, h, z1)), (-1, 0, 0)),
        (quad((x1, 0, z0), (x1, 0, z1), (x1, h, z1), (x1, h, z0)), (1, 0, 0)),
        (quad((x0, h, z0), (x1, h, z0), (x1, h, z1), (x0, h, z1)), (0, 1, 0)),
    ]


SUN: Vec = (-0.75, 0.55, -0.3)  # the viewport's default light: from above, behind the camera


def _shade(colour: Colour, normal: Vec) -> Colour:
    sun = np.array(SUN) / np.linalg.norm(SUN)
    light = 0.62 + 0.38 * max(0.0, float(np.dot(sun, normal)))
    r, g, b = (min(255, round(c * light)) for c in colour)
    return r, g, b


def _draw_box(canvas: np.ndarray, box: Box, camera: Camera, scale: int, line: int) -> None:
    size = (canvas.shape[1], canvas.shape[0])
    eye = np.array(camera.eye)
    for corners, normal in _faces(box):
        if float(np.dot(np.array(normal), eye - corners.mean(axis=0))) <= 0:
            continue  # facing away
        points = (_project(corners, camera, size) * 16).astype(np.int32)
        cv2.fillConvexPoly(canvas, points, _shade(box.colour, normal), cv2.LINE_AA, shift=4)
        if box.brick and normal[1] == 0:
            _brick(canvas, corners, normal, camera, size, box)
        if box.floors and normal[1] == 0:
            _windows(canvas, corners, camera, size, box.floors, scale)
        cv2.polylines(canvas, [points], True, (0, 0, 0), line, cv2.LINE_AA, shift=4)


def _on_face(corners: np.ndarray, u: float, v: float) -> np.ndarray:
    """The point at (u, v) in [0, 1]² across (bottom edge) and up a wall."""
    bottom = corners[0] + (corners[1] - corners[0]) * u
    point: np.ndarray = bottom + (corners[3] - corners[0]) * v
    return point


def _windows(
    canvas: np.ndarray,
    corners: np.ndarray,
    camera: Camera,
    size: tuple[int, int],
    floors: int,
    s: int,
) -> None:
    width = float(np.linalg.norm(corners[1] - corners[0]))
    columns = max(1, round(width / 3.2))
    glass = (118, 146, 170)  # SketchUp's translucent blue glazing over the sky
    for row in range(floors):
        for column in range(columns):
            u0, u1 = (column + 0.22) / columns, (column + 0.78) / columns
            v0, v1 = (row + 0.28) / floors, (row + 0.78) / floors
            quad = np.array(
                [_on_face(corners, u, v) for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))]
            )
            points = (_project(quad, camera, size) * 16).astype(np.int32)
            cv2.fillConvexPoly(canvas, points, glass, cv2.LINE_AA, shift=4)
            cv2.polylines(
                canvas, [points], True, (20, 20, 20), max(1, s // 2), cv2.LINE_AA, shift=4
            )


def _brick(
    canvas: np.ndarray,
    corners: np.ndarray,
    normal: Vec,
    camera: Camera,
    size: tuple[int, int],
    box: Box,
) -> None:
    """Mortar lines of a brick texture: darker courses across the face."""
    courses = round(box.height / 0.3)
    mortar = tuple(round(c * 0.8) for c in _shade(box.colour, normal))
    for course in range(1, courses):
        v = course / courses
        ends = np.array([_on_face(corners, 0.0, v), _on_face(corners, 1.0, v)])
        a, b = (_project(ends, camera, size) * 16).astype(np.int32)
        cv2.line(canvas, tuple(a), tuple(b), mortar, 1, cv2.LINE_AA, shift=4)


def _draw(
    size: tuple[int, int],
    background: Callable[[np.ndarray], None],
    boxes: list[Box],
    camera: Camera,
    line: int,
) -> Image.Image:
    """Drawn at twice the size and reduced, as a viewport's anti-aliasing would."""
    scale = 2
    width, height = size
    canvas = np.zeros((height * scale, width * scale, 3), np.uint8)
    background(canvas)
    eye = np.array(camera.eye)
    order = sorted(
        boxes,
        key=lambda b: (
            -np.linalg.norm(np.array([b.x + b.width / 2, b.height / 2, b.z + b.depth / 2]) - eye)
        ),
    )
    for box in order:
        _draw_box(canvas, box, camera, scale, line * scale)
    return Image.fromarray(cv2.resize(canvas, size, interpolation=cv2.INTER_AREA))


def _horizon(canvas: np.ndarray, camera: Camera) -> int:
    """The row of the ground plane's horizon."""
    far = np.array([[camera.target[0] * 1e4, camera.eye[1], camera.target[2] * 1e4]])
    row = _project(far, camera, (canvas.shape[1], canvas.shape[0]))[0, 1]
    return int(np.clip(row, 0, canvas.shape[0]))


def _gradient(canvas: np.ndarray, top: Colour, bottom: Colour, rows: slice) -> None:
    part = canvas[rows]
    t = np.linspace(0.0, 1.0, part.shape[0])[:, None, None]
    part[:] = (np.array(top) * (1 - t) + np.array(bottom) * t).round().astype(np.uint8)


CITY = [
    Box(0.0, 0.0, 12.0, 9.0, 10.0, floors=3),
    Box(14.0, 4.0, 7.0, 7.0, 16.0, colour=(214, 214, 210), floors=5),
    Box(-9.0, 6.0, 6.0, 5.0, 5.0, colour=(226, 222, 214), floors=1),
]


def sketchup(width: int = 768, height: int = 512) -> Image.Image:
    """SketchUp's default style: a pale-blue sky gradient, a tan ground plane, white massing,
    blue glass, one brick-faced block, heavy profile edges."""
    camera = Camera()

    def background(canvas: np.ndarray) -> None:
        horizon = _horizon(canvas, camera)
        _gradient(canvas, (168, 200, 228), (226, 236, 244), slice(0, horizon))
        canvas[horizon:] = (186, 180, 160)

    boxes = [*CITY[:2], Box(-9.0, 6.0, 6.0, 5.0, 5.0, colour=(176, 98, 70), brick=True)]
    return _draw((width, height), background, boxes, camera, line=2)


def revit(width: int = 768, height: int = 512) -> Image.Image:
    """Revit's shaded view: a flat white background all round (no ground), grey faces."""
    camera = Camera(eye=(-26.0, 14.0, -34.0), target=(6.0, 4.0, 8.0))

    def background(canvas: np.ndarray) -> None:
        canvas[:] = 250

    return _draw((width, height), background, CITY, camera, line=1)


def rhino(width: int = 768, height: int = 512) -> Image.Image:
    """Rhino's shaded view: a grey gradient backdrop, grey faces, thin edges, no glass."""
    camera = Camera(eye=(-20.0, 3.0, -32.0), target=(6.0, 7.0, 8.0), focal=0.9)
    grey = [Box(b.x, b.z, b.width, b.depth, b.height, colour=(190, 190, 190)) for b in CITY]

    def background(canvas: np.ndarray) -> None:
        _gradient(canvas, (150, 152, 158), (218, 218, 220), slice(0, canvas.shape[0]))

    return _draw((width, height), background, grey, camera, line=1)


VIEWPORTS: dict[str, Callable[[], Image.Image]] = {
    "sketchup": sketchup,
    "revit": revit,
    "rhino": rhino,
}

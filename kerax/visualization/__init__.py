"""``keras.visualization``: draw boxes and masks on images, and plot image galleries.

``draw_bounding_boxes`` (needs OpenCV) and ``draw_segmentation_masks`` return annotated
NumPy images; the ``plot_*`` functions (need matplotlib) lay a batch out as a grid of
subplots, shown with ``plt.show()`` or written to ``path``. OpenCV and matplotlib are
imported only when a function that needs them is called, never by ``import kerax``;
install both with ``pip install "kerax[visualization]"``.
"""

from kerax import _lazy

__all__ = [
    "draw_bounding_boxes",
    "draw_segmentation_masks",
    "plot_bounding_box_gallery",
    "plot_image_gallery",
    "plot_segmentation_mask_gallery",
]
__getattr__, __dir__ = _lazy.attach(
    __name__,
    _lazy.table(
        {
            "._draw": ("draw_bounding_boxes", "draw_segmentation_masks"),
            "._gallery": (
                "plot_bounding_box_gallery",
                "plot_image_gallery",
                "plot_segmentation_mask_gallery",
            ),
        }
    ),
)

"""Loaders of public datasets: each turns the publisher's original files into ``ShopData``.

One module per source, each with ``load(source: Path, on_bad_rows="error", **options) -> ShopData``;
``shopintent.data.registry.SOURCES`` maps dataset names to them. Reading and error handling
are shared in ``reading``.
"""

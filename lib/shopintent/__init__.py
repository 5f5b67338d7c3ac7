"""ShopIntent: understanding e-commerce users, their needs, search and purchase intent."""

__version__ = "0.1.0"

"""The synthetic shop's world: category tree, attributes and brands.

Data, not logic. Brands are invented names; a few are also ordinary words or attribute
values ("Ivory", "Coral", "Polar", "Summit") so that a tagger cannot rely on spelling alone.
"""

from __future__ import annotations

# The latent session intents are declared by the data model (queries.intent), in array order.
from shopintent.data.schema import INTENTS  # noqa: F401 - the generator's modules read it here

#: leaf -> (nouns: canonical first, then synonyms used in queries; attribute names; median price)
CATEGORY_TREE: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...], float]]] = {
    "electronics": {
        "smartphone": (
            ("smartphone", "phone", "mobile phone", "cell phone"),
            ("colour", "storage"),
            450,
        ),
        "laptop": (("laptop", "notebook", "ultrabook"), ("colour", "memory", "screen"), 900),
        "headphones": (("headphones", "earbuds", "headset"), ("colour", "connectivity"), 120),
        "tablet": (("tablet", "tab"), ("colour", "storage", "screen"), 380),
        "smartwatch": (
            ("smartwatch", "smart watch", "fitness watch"),
            ("colour", "case_size"),
            220,
        ),
    },
    "appliances": {
        "vacuum": (("vacuum cleaner", "vacuum", "hoover"), ("colour", "power"), 250),
        "coffee_maker": (
            ("coffee maker", "coffee machine", "espresso machine"),
            ("colour", "capacity"),
            150,
        ),
        "blender": (("blender", "mixer"), ("colour", "capacity", "power"), 80),
        "microwave": (("microwave", "microwave oven"), ("colour", "capacity"), 140),
    },
    "fashion": {
        "sneakers": (
            ("sneakers", "trainers", "running shoes"),
            ("colour", "shoe_size", "material"),
            90,
        ),
        "jacket": (("jacket", "coat", "parka"), ("colour", "size", "material"), 130),
        "jeans": (("jeans", "denim"), ("colour", "size", "fit"), 60),
        "dress": (("dress", "summer dress"), ("colour", "size", "material"), 70),
    },
    "home": {
        "sofa": (("sofa", "couch", "settee"), ("colour", "material", "seats"), 700),
        "lamp": (("lamp", "floor lamp", "desk lamp"), ("colour", "material"), 50),
        "bedding": (
            ("bedding set", "duvet cover", "bed sheets"),
            ("colour", "bed_size", "material"),
            60,
        ),
        "rug": (("rug", "carpet"), ("colour", "rug_size", "material"), 120),
    },
    "beauty": {
        "shampoo": (("shampoo", "hair wash"), ("volume", "hair_type"), 12),
        "lipstick": (("lipstick", "lip colour"), ("shade",), 18),
        "perfume": (("perfume", "fragrance", "eau de parfum"), ("volume",), 65),
        "moisturizer": (("moisturizer", "face cream", "moisturiser"), ("volume", "skin_type"), 25),
    },
    "sports": {
        "bicycle": (("bicycle", "bike", "mountain bike"), ("colour", "frame_size"), 500),
        "yoga_mat": (("yoga mat", "exercise mat"), ("colour", "thickness"), 30),
        "tent": (("tent", "camping tent"), ("colour", "sleeps"), 160),
        "dumbbells": (("dumbbells", "dumbbell set", "weights"), ("weight",), 45),
    },
    "toys": {
        "building_set": (("building set", "building blocks", "brick set"), ("age", "pieces"), 40),
        "doll": (("doll", "fashion doll"), ("age",), 25),
        "puzzle": (("puzzle", "jigsaw puzzle", "jigsaw"), ("pieces",), 18),
        "board_game": (("board game", "family game"), ("age", "players"), 30),
    },
    "grocery": {
        "coffee": (("coffee beans", "coffee", "ground coffee"), ("pack_weight", "roast"), 14),
        "tea": (("tea", "tea bags", "loose tea"), ("flavour", "pack_weight"), 8),
        "chocolate": (("chocolate", "chocolate bar"), ("flavour", "pack_weight"), 5),
        "olive_oil": (("olive oil", "extra virgin olive oil"), ("volume",), 12),
    },
    "garden": {
        "lawn_mower": (("lawn mower", "mower", "grass cutter"), ("power", "cutting_width"), 320),
        "grill": (("grill", "bbq", "barbecue"), ("fuel", "colour"), 260),
        "planter": (("planter", "flower pot", "plant pot"), ("colour", "material"), 25),
    },
    "auto": {
        "tires": (("tires", "tyres", "car tires"), ("tire_size", "season"), 110),
        "car_battery": (("car battery", "battery"), ("battery_capacity",), 130),
        "dash_cam": (("dash cam", "dashcam", "car camera"), ("resolution",), 90),
    },
}

ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    "colour": (
        "black",
        "white",
        "silver",
        "blue",
        "red",
        "green",
        "grey",
        "pink",
        "gold",
        "ivory",
        "navy",
    ),
    "storage": ("64GB", "128GB", "256GB", "512GB"),
    "memory": ("8GB RAM", "16GB RAM", "32GB RAM"),
    "screen": ("11 inch", "13 inch", "14 inch", "15.6 inch"),
    "connectivity": ("wireless", "bluetooth", "wired", "noise cancelling"),
    "case_size": ("40mm", "44mm", "46mm"),
    "power": ("800W", "1200W", "1800W"),
    "capacity": ("1L", "1.5L", "20L", "25L"),
    "shoe_size": ("size 38", "size 40", "size 42", "size 44"),
    "size": ("XS", "S", "M", "L", "XL"),
    "material": ("leather", "cotton", "wool", "linen", "velvet", "oak", "ceramic", "steel"),
    "fit": ("slim fit", "regular fit", "relaxed fit"),
    "seats": ("2 seater", "3 seater", "corner"),
    "bed_size": ("single", "double", "king size"),
    "rug_size": ("120x170", "160x230", "200x300"),
    "volume": ("50ml", "100ml", "250ml", "500ml"),
    "hair_type": ("dry hair", "oily hair", "curly hair"),
    "shade": ("nude", "ruby", "coral", "berry"),
    "skin_type": ("sensitive skin", "dry skin", "oily skin"),
    "frame_size": ("small frame", "medium frame", "large frame"),
    "thickness": ("4mm", "6mm", "8mm"),
    "sleeps": ("2 person", "4 person", "6 person"),
    "weight": ("5kg", "10kg", "20kg"),
    "age": ("3+", "6+", "8+", "12+"),
    "pieces": ("250 pieces", "500 pieces", "1000 pieces"),
    "players": ("2-4 players", "2-6 players"),
    "pack_weight": ("250g", "500g", "1kg"),
    "roast": ("light roast", "medium roast", "dark roast"),
    "flavour": ("mint", "vanilla", "lemon", "hazelnut", "sea salt"),
    "fuel": ("gas", "charcoal", "electric"),
    "cutting_width": ("40cm", "46cm", "51cm"),
    "tire_size": ("205/55 R16", "225/45 R17"),
    "season": ("summer", "winter", "all season"),
    "battery_capacity": ("60Ah", "70Ah", "95Ah"),
    "resolution": ("1080p", "2K", "4K"),
}

#: top-level category -> brands selling there (a brand may sell in several).
BRANDS: dict[str, tuple[str, ...]] = {
    "electronics": ("Nexora", "Voltix", "Lumina", "Zentro", "Apex", "Orbix", "Kairo", "Pearl"),
    "appliances": ("Kelvo", "Brisa", "Domix", "Apex", "Vento", "Ivory", "Solace", "Tamaro"),
    "fashion": ("Urbano", "Stride", "Nordvik", "Velour", "Ivory", "Marlo", "Kite", "Sable"),
    "home": ("Hygge", "Oakridge", "Casa Verde", "Lumen", "Nordvik", "Linnea", "Maple", "Arden"),
    "beauty": ("Belle", "Aurea", "Lumina", "Velour", "Pure Bloom", "Nara", "Coral", "Sable"),
    "sports": ("Summit", "Stride", "Trek Peak", "Ironclad", "Kite", "Vortex", "Apex", "Ridge"),
    "toys": ("Tinker", "Bricko", "Playnest", "Wonder", "Jolly", "Pixie", "Orbit", "Mosaic"),
    "grocery": (
        "Bean & Co",
        "Terra",
        "Golden Leaf",
        "Cocoa Moon",
        "Olea",
        "Harvest",
        "Maple",
        "Roastery",
    ),
    "garden": ("Greenway", "Ridge", "Terra", "Bloom", "Cedar", "Ironclad", "Flint", "Meadow"),
    "auto": ("Roadstar", "Voltix", "Ironclad", "Drivex", "Polar", "Trax", "Flint", "Summit"),
}

#: model-name pieces: a series word or letter, a number, an optional suffix ("Aero 5 Pro", "Q7").
MODEL_SERIES = (
    "Aero",
    "Zen",
    "Nova",
    "Flex",
    "Core",
    "Edge",
    "Prime",
    "Astra",
    "Vita",
    "Luxe",
    "Q",
    "X",
    "S",
    "V",
    "GT",
    "Neo",
    "Ultra",
    "Sol",
    "Mira",
    "Duo",
)
MODEL_SUFFIXES = ("", "", "", "Pro", "Max", "Lite", "Plus", "Mini", "Air", "SE")

#: price tiers: multiplier of the leaf's median price and the mean of a brand's latent quality.
TIERS = {"budget": (0.6, -0.4), "mid": (1.0, 0.0), "premium": (1.8, 0.4)}

#: leaf -> leaves whose items are bought with it (cross-sell): what makes baskets and
#: co-purchase rules exist. A buyer adds one complement with COMPLEMENT_RATE (behaviour.py).
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "smartphone": ("headphones", "smartwatch"),
    "laptop": ("headphones",),
    "tablet": ("headphones",),
    "coffee_maker": ("coffee",),
    "blender": ("olive_oil",),
    "sneakers": ("jeans",),
    "jacket": ("jeans",),
    "dress": ("sneakers",),
    "sofa": ("rug", "lamp"),
    "bedding": ("lamp",),
    "rug": ("lamp",),
    "shampoo": ("moisturizer",),
    "lipstick": ("perfume",),
    "bicycle": ("yoga_mat",),
    "yoga_mat": ("dumbbells",),
    "dumbbells": ("yoga_mat",),
    "tent": ("grill",),
    "building_set": ("puzzle",),
    "board_game": ("puzzle",),
    "coffee": ("chocolate",),
    "tea": ("chocolate",),
    "grill": ("olive_oil",),
    "lawn_mower": ("planter",),
    "tires": ("dash_cam",),
    "car_battery": ("dash_cam",),
}

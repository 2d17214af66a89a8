"""Caption generation for the tiny CLIP's contrastive pretraining.

Captions are built from varied patterns, synonyms and optional leads/tails (so positions up to ~35
tokens are trained, as a 16-token CoOp context needs). None of them may equal an evaluation
prompt: every template in prompts/templates/*.txt and every `template:` of datasets/catalog is
formatted with every class name and refused if a caption can match it (checked by
`check_no_evaluation_prompt`).
"""
import glob
import os
import re

# Fashion-MNIST label order (datasets/catalog/fashion_mnist.yaml). The names a caption uses: the
# words people write, which are not always a catalog's terms. "pullover" and "ankle boot" never
# appear (people write sweater, jumper, boots), a shirt is a blouse or a button-up, and "shirt" is
# said of t-shirts. So the hand-written prompt, which uses the catalog's names, misses some classes
# that the image features do separate: the situation prompt learning was made for (CLIP's
# zero-shot accuracy suffers where a data set's class names differ from web usage).
FASHION_NAMES = [
    ["t-shirt", "tee", "shirt", "tee shirt", "short sleeve shirt"],
    ["trousers", "trouser", "pants", "jeans"],
    ["sweater", "jumper", "knitted sweater", "knit jumper"],
    ["dress", "summer dress", "gown"],
    ["coat", "jacket", "winter coat"],
    ["sandal", "sandals", "summer sandal"],
    ["blouse", "button-up", "flannel blouse", "collared blouse"],
    ["sneaker", "trainer", "running shoe", "sports shoe"],
    ["bag", "handbag", "purse", "tote bag"],
    ["boots", "short boots", "booties", "winter boots"],
]
DIGIT_NAMES = [[w] for w in
               ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]]

FASHION_PATTERNS = [
    "{}", "a {}", "the {}", "{} on a black background", "a {} on a plain dark background",
    "product photo: {}", "photo showing a {}", "a small grayscale photo showing a {}",
    "this {} is for sale", "new {} in our online shop", "a {} from the catalogue",
    "black and white image of a {}", "low resolution picture of a {}", "my new {}",
    "clothing item: {}", "a {} you can wear", "type of item: {}", "the {} shown from the front",
    "an image of one {}", "fashion: {}", "a {} in grey tones", "shop listing, {}, size m",
    "picture of somebody's {}", "a thumbnail of a {}", "{} for men and women",
    "a {}, photographed flat", "catalogue entry: {}", "clothing: a {}",
    "a piece of clothing, namely a {}", "what type of clothing is this? a {}",
    "a photo of this {} in our store", "{} photo for the online shop",
    "the {} i bought last week", "a used {} in good condition", "centered photo of a {}",
]
DIGIT_PATTERNS = [
    "a handwritten {}", "the digit {} written by hand", "handwritten number {}",
    "a scan of a handwritten {}", "{} in white ink on black", "the number {}",
    "a {} drawn with a pen", "digit: {}", "somebody wrote a {}",
    "white digit {} on a dark background", "a postcode digit, {}", "a blurry handwritten {}",
    "zip code digit {}", "a {}, written quickly", "number {} from a form",
]
LEADS = ["sale! ", "new arrival: ", "from our summer collection, ", "look at this: ",
         "item 42, ", "just listed: ", "photo 3 of 5: "]
FASHION_TAILS = [", ships in two days.", ", worn once, good condition, pick up only.",
                 ". free returns within thirty days.", " (image from the product page)",
                 ", available in several sizes and colours.", "."]
DIGIT_TAILS = [".", ", from a scanned letter.", " in a box on a paper form.",
               ", one of many digits in the sheet."]
NO_CLASS = ["an item from an online shop", "a grayscale picture", "sold out",
            "image not available", "a small picture on a black background",
            "a product from the catalogue", "handwriting on paper", "a scanned form"]


def compose(rng, names, patterns, tails):
    """One caption for a class: its first name half of the time, else another."""
    name = names[0] if rng.random() < 0.5 or len(names) == 1 else rng.choice(names[1:])
    text = rng.choice(patterns).format(name)
    if rng.random() < 0.3:
        text = rng.choice(LEADS) + text
    if rng.random() < 0.35:
        text += rng.choice(tails)
    return text


def all_captions(names, patterns, tails):
    """Every caption `compose` can produce for these names (for tokenizing once, and checking)."""
    out = set()
    for group in names:
        for name in group:
            for p in patterns:
                base = p.format(name)
                for lead in [""] + LEADS:
                    for tail in [""] + tails:
                        out.add(lead + base + tail)
    return out


def _norm(text):
    return re.sub(r"\s+", " ", text.strip().lower())


def evaluation_prompts(repo):
    """Every evaluation prompt the project ships, formatted with every class name it may see."""
    templates = []
    for path in glob.glob(os.path.join(repo, "prompts", "templates", "*.txt")):
        with open(path, encoding="utf-8") as f:
            templates += [l.strip() for l in f if l.strip() and not l.startswith("#")]
    for path in glob.glob(os.path.join(repo, "datasets", "catalog", "*.yaml")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r'\s*template:\s*"(.*)"\s*$', line)
                if m:
                    templates.append(m.group(1))
    names = {n for group in FASHION_NAMES + DIGIT_NAMES for n in group}
    prompts = set()
    for t in templates:
        for n in names:
            try:
                prompts.add(_norm(t.format(n)))
            except (KeyError, IndexError):  # a text-LM template ("{text} Topic:"), not CLIP's
                break
    return templates, prompts


def check_no_evaluation_prompt(repo, captions):
    templates, prompts = evaluation_prompts(repo)
    if not templates:
        raise SystemExit("pretrain: found no evaluation templates under %s (wrong --repo?)" % repo)
    clash = sorted(c for c in captions if _norm(c) in prompts)
    if clash:
        raise SystemExit("pretrain: captions equal evaluation prompts: %s" % clash[:5])
    return len(templates)

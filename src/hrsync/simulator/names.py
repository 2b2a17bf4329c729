"""Name pools for the generated directory.

Real HR directories are multilingual: names arrive in several scripts, with diacritics, apostrophes
(straight and curly), hyphens and multi-word family names. Each entry pairs the name as written with
an ASCII romanisation, because work e-mail addresses are ASCII even when names are not.
"""

from __future__ import annotations

from dataclasses import dataclass

Name = tuple[str, str]  # (as written, ascii romanisation)


@dataclass(frozen=True, slots=True)
class Culture:
    """One naming tradition: given names by gender, family names, and a weight in the mix."""

    key: str
    weight: int
    female: tuple[Name, ...]
    male: tuple[Name, ...]
    family: tuple[Name, ...]
    middle_female: tuple[Name, ...] = ()
    middle_male: tuple[Name, ...] = ()


ENGLISH = Culture(
    "en",
    33,
    female=(
        ("Olivia", "olivia"),
        ("Charlotte", "charlotte"),
        ("Amelia", "amelia"),
        ("Isla", "isla"),
        ("Mia", "mia"),
        ("Grace", "grace"),
        ("Anne-Marie", "anne-marie"),
        ("Chloe", "chloe"),
        ("Sophie", "sophie"),
        ("Ruby", "ruby"),
        ("Emily", "emily"),
        ("Zoë", "zoe"),
    ),
    male=(
        ("Oliver", "oliver"),
        ("Jack", "jack"),
        ("William", "william"),
        ("Noah", "noah"),
        ("Thomas", "thomas"),
        ("James", "james"),
        ("Lachlan", "lachlan"),
        ("Henry", "henry"),
        ("Samuel", "samuel"),
        ("Jean-Luc", "jean-luc"),
        ("Liam", "liam"),
        ("Harrison", "harrison"),
    ),
    family=(
        ("Smith", "smith"),
        ("Jones", "jones"),
        ("Williams", "williams"),
        ("Brown", "brown"),
        ("Wilson", "wilson"),
        ("Taylor", "taylor"),
        ("O'Brien", "obrien"),
        ("D’Arcy", "darcy"),
        ("Smith-Jones", "smith-jones"),
        ("McDonald", "mcdonald"),
        ("O'Connor", "oconnor"),
        ("Campbell", "campbell"),
        ("Kelly", "kelly"),
        ("Ryan", "ryan"),
        ("St. John", "stjohn"),
    ),
    middle_female=(("Rose", "rose"), ("Jane", "jane"), ("Louise", "louise")),
    middle_male=(("James", "james"), ("Edward", "edward"), ("John", "john")),
)

SPANISH = Culture(
    "es",
    15,
    female=(
        ("María", "maria"),
        ("Lucía", "lucia"),
        ("Sofía", "sofia"),
        ("Martina", "martina"),
        ("Inés", "ines"),
        ("Ana", "ana"),
        ("Begoña", "begona"),
        ("María José", "mariajose"),
    ),
    male=(
        ("José", "jose"),
        ("Hugo", "hugo"),
        ("Martín", "martin"),
        ("Álvaro", "alvaro"),
        ("Iñaki", "inaki"),
        ("Javier", "javier"),
        ("Juan Carlos", "juancarlos"),
        ("Raúl", "raul"),
    ),
    family=(
        ("García", "garcia"),
        ("Fernández", "fernandez"),
        ("González", "gonzalez"),
        ("Rodríguez", "rodriguez"),
        ("López", "lopez"),
        ("Martínez", "martinez"),
        ("García-López", "garcia-lopez"),
        ("Muñoz", "munoz"),
        ("de la Fuente", "delafuente"),
        ("Ibáñez", "ibanez"),
    ),
)

VIETNAMESE = Culture(
    "vi",
    10,
    female=(
        ("Lan", "lan"),
        ("Hương", "huong"),
        ("Mai", "mai"),
        ("Ngọc", "ngoc"),
        ("Thảo", "thao"),
        ("Linh", "linh"),
    ),
    male=(
        ("Minh", "minh"),
        ("Dũng", "dung"),
        ("Hùng", "hung"),
        ("Tuấn", "tuan"),
        ("Quang", "quang"),
        ("Đức", "duc"),
    ),
    family=(
        ("Nguyễn", "nguyen"),
        ("Trần", "tran"),
        ("Lê", "le"),
        ("Phạm", "pham"),
        ("Hoàng", "hoang"),
        ("Võ", "vo"),
        ("Đặng", "dang"),
    ),
    middle_female=(("Thị", "thi"), ("Ngọc", "ngoc")),
    middle_male=(("Văn", "van"), ("Đình", "dinh")),
)

CHINESE = Culture(
    "zh",
    10,
    female=(("秀英", "xiuying"), ("静", "jing"), ("丽", "li"), ("芳", "fang"), ("敏", "min"), ("婷", "ting")),
    male=(("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("杰", "jie")),
    family=(
        ("王", "wang"),
        ("李", "li"),
        ("张", "zhang"),
        ("刘", "liu"),
        ("陈", "chen"),
        ("杨", "yang"),
        ("欧阳", "ouyang"),
    ),
)

ARABIC = Culture(
    "ar",
    8,
    female=(("فاطمة", "fatima"), ("مريم", "maryam"), ("نور", "noor"), ("ليلى", "layla"), ("عائشة", "aisha")),
    male=(("محمد", "mohammed"), ("أحمد", "ahmed"), ("علي", "ali"), ("عمر", "omar"), ("يوسف", "yousef")),
    family=(
        ("العلي", "alali"),
        ("حداد", "haddad"),
        ("الخطيب", "alkhatib"),
        ("منصور", "mansour"),
        ("عبد الله", "abdullah"),
    ),
)

GREEK = Culture(
    "el",
    7,
    female=(("Μαρία", "maria"), ("Ελένη", "eleni"), ("Αικατερίνη", "aikaterini"), ("Σοφία", "sofia")),
    male=(("Γιώργος", "giorgos"), ("Δημήτρης", "dimitris"), ("Νίκος", "nikos"), ("Κώστας", "kostas")),
    family=(
        ("Παπαδόπουλος", "papadopoulos"),
        ("Οικονόμου", "oikonomou"),
        ("Γεωργίου", "georgiou"),
        ("Νικολάου", "nikolaou"),
        ("Παπαδάκης", "papadakis"),
    ),
)

MAORI = Culture(
    "mi",
    9,
    female=(
        ("Aroha", "aroha"),
        ("Ngaio", "ngaio"),
        ("Mere", "mere"),
        ("Kahurangi", "kahurangi"),
        ("Āniwaniwa", "aniwaniwa"),
        ("Hine", "hine"),
    ),
    male=(
        ("Wiremu", "wiremu"),
        ("Tāne", "tane"),
        ("Rāwiri", "rawiri"),
        ("Hēmi", "hemi"),
        ("Nikau", "nikau"),
        ("Tamati", "tamati"),
    ),
    family=(
        ("Ngata", "ngata"),
        ("Te Whiu", "tewhiu"),
        ("Parata", "parata"),
        ("Tūhoe", "tuhoe"),
        ("Te Rangi", "terangi"),
        ("Horomona", "horomona"),
        ("Ngāwai", "ngawai"),
    ),
)

FRENCH_IRISH = Culture(
    "fr",
    8,
    female=(
        ("Élodie", "elodie"),
        ("Chloé", "chloe"),
        ("Siobhán", "siobhan"),
        ("Aoife", "aoife"),
        ("Marie-Claire", "marie-claire"),
    ),
    male=(
        ("François", "francois"),
        ("Seán", "sean"),
        ("Pádraig", "padraig"),
        ("Jérôme", "jerome"),
        ("Pierre-Louis", "pierre-louis"),
    ),
    family=(
        ("D'Angelo", "dangelo"),
        ("L'Estrange", "lestrange"),
        ("Ó Súilleabháin", "osuilleabhain"),
        ("Dubois", "dubois"),
        ("Lefèvre", "lefevre"),
        ("Mac Giolla", "macgiolla"),
    ),
)

CULTURES: tuple[Culture, ...] = (ENGLISH, SPANISH, VIETNAMESE, CHINESE, ARABIC, GREEK, MAORI, FRENCH_IRISH)
CULTURE_WEIGHTS: tuple[int, ...] = tuple(c.weight for c in CULTURES)

# Deliberately bad names (see ``generator.BAD_KINDS``).
LONG_FAMILY_NAME: Name = (
    "Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh-Cholmondeley",
    "wolfeschlegelsteinhausenbergerdorff",
)
ILLEGAL_GIVEN_NAMES: tuple[Name, ...] = (("Robert<script>", "robert"), ("J0hn3", "john"))
